/**
 * Record and replay of model calls, as CallHooks.
 *
 * `--record FILE` (Recorder) writes every real model call of a run (step, model, request,
 * response, usage, latency) to a readable JSON file (YAML when FILE ends in .yaml/.yml),
 * rewritten after each call so a killed run leaves a valid file. `--replay FILE` (Replayer)
 * answers every call from such a file and never calls a model, so a run needs no network
 * and no API key: the way to test a pipeline deterministically in CI. A call that is not in
 * the file fails the step with REPLAY_MISS, naming the step, the model and the nearest
 * recorded call.
 *
 * Secrets: requests are step inputs (providers add API keys only to HTTP headers, never to
 * inputs), and headers are not recorded; still, values of header-like keys (authorization,
 * x-api-key, cookie ...) and the value of every model's `apiKeyEnv` variable are replaced
 * by "[redacted]" wherever they appear.
 */
import { accessSync, constants, existsSync, readFileSync, renameSync, statSync, writeFileSync } from "node:fs";
import { makeDirs } from "../util/make-dirs.js";
import { basename, dirname } from "node:path";
import YAML from "yaml";
import type { Usage } from "../models/types.js";
import type { CallHit, CallHook, CallRequest } from "../events/ports.js";
import { McpError } from "../util/errors.js";
import { callKey, stableStringify } from "./call-key.js";
import { excerpt, firstDifference, similarity } from "./similarity.js";

/** One recorded model call. */
export interface Interaction {
  step: string;
  /** forEach index. */
  item?: number;
  /** Registry name of the model. */
  model: string;
  provider: string;
  /** The provider's model id, when set. */
  modelId?: string;
  capabilities?: string[];
  request: unknown;
  response: unknown;
  usage?: Usage;
  latencyMs?: number;
  /** sha256 of the call's identity (see call-key.ts): what replay matches on. */
  key: string;
  /** ISO time of the call. */
  at?: string;
}

/** A recording file. */
export interface Recording {
  /** Marks the file's format. */
  format: "mcp-recording";
  version: 1;
  pipeline?: string;
  hash?: string;
  recordedAt?: string;
  interactions: Interaction[];
}

const SECRET_KEYS = /^(authorization|proxy-authorization|x-api-key|api[-_]?key|x-goog-api-key|cookie|set-cookie|openai-api-key|anthropic-api-key)$/i;
export const REDACTED = "[redacted]";

/** A copy of `v` with header-like secrets and the given secret values replaced. */
export function scrub(v: unknown, secrets: readonly string[] = []): unknown {
  if (typeof v === "string") {
    let s = v;
    for (const secret of secrets) if (s.includes(secret)) s = s.split(secret).join(REDACTED);
    return s;
  }
  if (Array.isArray(v)) return v.map((x) => scrub(x, secrets));
  if (v && typeof v === "object") {
    const out: Record<string, unknown> = {};
    for (const [k, x] of Object.entries(v)) out[k] = SECRET_KEYS.test(k) && x !== undefined && x !== null ? REDACTED : scrub(x, secrets);
    return out;
  }
  return v;
}

function isYamlPath(path: string): boolean {
  return /\.ya?ml$/i.test(path);
}

/** Reads a recording; throws McpError RECORDING_INVALID (with the file's name) when unusable. */
export function readRecording(path: string): Recording {
  let text: string;
  try {
    text = readFileSync(path, "utf8");
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    const why = code === "ENOENT" ? "no such file" : code === "EISDIR" ? "it is a folder" : code === "EACCES" || code === "EPERM" ? "permission denied" : (e as Error).message;
    throw new McpError("RECORDING_INVALID", `cannot read the replay file ${path}: ${why}`);
  }
  let doc: unknown;
  try {
    doc = isYamlPath(path) ? YAML.parse(text) : JSON.parse(text);
  } catch (e) {
    throw new McpError("RECORDING_INVALID", `the replay file ${path} is not valid ${isYamlPath(path) ? "YAML" : "JSON"}: ${(e as Error).message}`);
  }
  const rec = doc as Partial<Recording> | null;
  if (!rec || typeof rec !== "object" || !Array.isArray(rec.interactions)) {
    throw new McpError("RECORDING_INVALID", `the replay file ${path} is not a recording: expected an object with \`interactions\` (made by mcp run --record)`);
  }
  rec.interactions.forEach((i, n) => {
    if (!i || typeof i !== "object" || typeof i.step !== "string" || typeof i.model !== "string" || !("response" in i)) {
      throw new McpError("RECORDING_INVALID", `the replay file ${path}: interaction ${n} needs step, model, request and response`);
    }
  });
  return rec as Recording;
}

/** The recorded form of one call, with secrets replaced. */
export function interactionOf(req: CallRequest, output: unknown, info: { usage: Usage; latencyMs: number }, env: NodeJS.ProcessEnv): Interaction {
  const m = req.model;
  const secrets = [m.apiKeyEnv ? env[m.apiKeyEnv] : undefined].filter((s): s is string => typeof s === "string" && s.length >= 4);
  return {
    step: req.stepId,
    ...(req.item !== undefined ? { item: req.item } : {}),
    model: m.name,
    provider: m.provider,
    ...(m.model !== undefined ? { modelId: m.model } : {}),
    ...(req.capabilities?.length ? { capabilities: [...req.capabilities] } : {}),
    request: scrub(req.input, secrets),
    response: scrub(output, secrets),
    usage: info.usage,
    latencyMs: info.latencyMs,
    key: callKey(req),
    at: new Date().toISOString(),
  };
}

/** Writes a recording atomically (a temporary file renamed), as JSON or YAML by its name. */
export function writeRecording(path: string, recording: Recording): void {
  const text = isYamlPath(path) ? YAML.stringify(recording, { lineWidth: 0 }) : `${JSON.stringify(recording, null, 2)}\n`;
  // Written to a temporary file and renamed: a reader (or a killed run) never sees half a file.
  // The folder is made if missing (`--record test/recordings/new.json`); an error names the
  // file the user gave, not the temporary one.
  const tmp = `${path}.${process.pid}.tmp`;
  try {
    makeDirs(dirname(path));
    writeFileSync(tmp, text);
    renameSync(tmp, path);
  } catch (e) {
    throw new Error(cannotWrite(path, e, tmp));
  }
}

/**
 * Makes the folder of a recording file and checks that the file can be written, so that a
 * `--record` path that cannot work is refused before the run makes any call.
 * @throws Error `cannot write PATH: why` (the path as the user gave it).
 */
export function ensureWritable(path: string): void {
  try {
    makeDirs(dirname(path));
    if (existsSync(path) && statSync(path).isDirectory()) throw Object.assign(new Error("is a directory"), { code: "EISDIR" });
    accessSync(dirname(path), constants.W_OK);
  } catch (e) {
    throw new Error(cannotWrite(path, e));
  }
}

function cannotWrite(path: string, e: unknown, tmp?: string): string {
  const code = (e as NodeJS.ErrnoException).code;
  const why =
    code === "EACCES" || code === "EPERM"
      ? "permission denied"
      : code === "ENOTDIR" || code === "EEXIST"
        ? "a part of the path is a file, not a folder"
        : code === "EISDIR"
          ? "it is a folder"
          : tmp
            ? (e as Error).message.replaceAll(tmp, path)
            : (e as Error).message;
  return `cannot write ${path}: ${why}`;
}

export interface RecorderOptions {
  pipeline?: string;
  hash?: string;
  /** Environment, to redact the values of the models' apiKeyEnv variables. @default process.env */
  env?: NodeJS.ProcessEnv;
}

/** Writes every real model call to a file. */
export class Recorder implements CallHook {
  readonly kind = "record";
  readonly path: string;
  readonly #recording: Recording;
  readonly #env: NodeJS.ProcessEnv;

  constructor(path: string, options: RecorderOptions = {}) {
    this.path = path;
    this.#env = options.env ?? process.env;
    this.#recording = {
      format: "mcp-recording",
      version: 1,
      ...(options.pipeline !== undefined ? { pipeline: options.pipeline } : {}),
      ...(options.hash !== undefined ? { hash: options.hash } : {}),
      recordedAt: new Date().toISOString(),
      interactions: [],
    };
    this.#write();
  }

  /** Calls recorded so far. */
  get interactions(): readonly Interaction[] {
    return this.#recording.interactions;
  }

  async store(req: CallRequest, output: unknown, info: { usage: Usage; latencyMs: number }): Promise<void> {
    this.#recording.interactions.push(interactionOf(req, output, info, this.#env));
    this.#write();
  }

  #write(): void {
    writeRecording(this.path, this.#recording);
  }
}

/** Answers model calls from a recording; never calls a model. */
export class Replayer implements CallHook {
  readonly kind = "replay";
  readonly path: string;
  readonly #recording: Recording;
  /** Times each interaction was served. */
  readonly #served = new Map<Interaction, number>();

  readonly #hint: string;

  /** `hint`: the last line of a miss's message, saying how to record the call. */
  constructor(path: string, recording: Recording = readRecording(path), options: { hint?: string } = {}) {
    this.path = path;
    this.#recording = recording;
    this.#hint = options.hint ?? `record it again with --record ${path} if the pipeline or its input changed`;
  }

  async lookup(req: CallRequest): Promise<CallHit> {
    const key = callKey(req);
    const same = this.#recording.interactions.filter((i) => i.key === key);
    // Prefer the call recorded for this step (and forEach item): the same request made by
    // two steps may have had two answers.
    const exact = same.filter((i) => i.step === req.stepId && (i.item ?? undefined) === (req.item ?? undefined));
    const sameStep = same.filter((i) => i.step === req.stepId);
    const pool = exact.length ? exact : sameStep.length ? sameStep : same;
    if (pool.length === 0) throw this.#miss(req);
    // The first not yet served, in recorded order; when all were, the last again.
    const hit = pool.find((i) => !this.#served.has(i)) ?? pool[pool.length - 1]!;
    this.#served.set(hit, (this.#served.get(hit) ?? 0) + 1);
    return { output: structuredClone(hit.response), ...(hit.usage ? { usage: hit.usage } : {}), source: "replay" };
  }

  #miss(req: CallRequest): McpError {
    const m = req.model;
    const what = `step '${req.stepId}'${req.item !== undefined ? ` (item ${req.item})` : ""} on model '${m.name}' (${m.provider}${m.model ? ` ${m.model}` : ""})`;
    const lines = [`replay: no recorded call in ${basename(this.path)} matches ${what}`];
    const input = stableStringify(req.input);
    let best: { i: Interaction; score: number; text: string } | undefined;
    for (const i of this.#recording.interactions) {
      const text = stableStringify(i.request);
      // Same step and model rank first among equally similar inputs.
      const score = similarity(input, text) + (i.step === req.stepId ? 0.001 : 0) + (i.model === m.name ? 0.0005 : 0);
      if (!best || score > best.score) best = { i, score, text };
    }
    if (!best) {
      lines.push("  the file has no recorded calls");
    } else {
      const b = best.i;
      const pct = Math.round(Math.min(1, best.score) * 100);
      lines.push(
        `  nearest recorded call: step '${b.step}'${b.item !== undefined ? ` (item ${b.item})` : ""} on model '${b.model}' (${b.provider}${b.modelId ? ` ${b.modelId}` : ""}), input ${pct}% similar`,
      );
      const at = firstDifference(best.text, input);
      if (at === -1) {
        const diffs: string[] = [];
        if (b.model !== m.name) diffs.push(`model '${b.model}' instead of '${m.name}'`);
        if (b.provider !== m.provider || (b.modelId ?? undefined) !== (m.model ?? undefined)) diffs.push("provider or model id");
        lines.push(`  the input is the same; what differs is the ${diffs.length ? diffs.join(" and ") : "model's settings (options, endpoint) or the step's capabilities"}`);
      } else {
        lines.push(`    recorded:  ${excerpt(best.text, at)}`, `    this call: ${excerpt(input, at)}`);
      }
    }
    lines.push(`  ${this.#hint}`);
    return new McpError("REPLAY_MISS", lines.join("\n"));
  }
}
