/**
 * A recording file used with one of VCR's record modes, as a CallHook:
 *
 *   none   replay only: every call must be in the file; a missing one fails the step
 *          (REPLAY_MISS, naming the nearest recorded call). The default under CI.
 *   new    replay what is recorded, make and record only the calls that are missing.
 *   all    make every call again and write a new file (calls no longer made are dropped).
 *
 * Calls to in-process, deterministic providers (`nlp`, `mock`) are neither replayed nor
 * recorded: they run as they are, so a recording holds only what CI cannot make (network
 * models: openai, anthropic, http; and module models, which may be anything).
 *
 * The file is written (atomically) after each new call and by `save()`, interactions
 * sorted by step and call key so that re-recording the same calls gives the same file
 * whatever order concurrent cases finished in.
 */
import { existsSync } from "node:fs";
import type { Usage } from "../models/types.js";
import type { CallHit, CallHook, CallRequest } from "../events/ports.js";
import { McpError } from "../util/errors.js";
import { interactionOf, readRecording, Replayer, writeRecording, type Interaction, type Recording } from "./recording.js";

/** VCR's record modes. */
export const RECORD_MODES = ["none", "new", "all"] as const;
export type RecordMode = (typeof RECORD_MODES)[number];

/** Providers whose calls run in-process and give the same answer every time. */
export const IN_PROCESS_PROVIDERS: ReadonlySet<string> = new Set(["nlp", "mock"]);

export interface CassetteOptions {
  mode: RecordMode;
  pipeline?: string;
  hash?: string;
  /** Environment, to redact the values of apiKeyEnv variables. @default process.env */
  env?: NodeJS.ProcessEnv;
  /** Last line of a miss's message: how to record the missing call. */
  hint?: string;
  /** In mode `all`, write the file even when no call was recorded (`mcp run --record`). */
  writeEmpty?: boolean;
}

export class Cassette implements CallHook {
  readonly kind = "replay";
  readonly path: string;
  readonly mode: RecordMode;
  readonly #env: NodeJS.ProcessEnv;
  readonly #recording: Recording;
  readonly #replayer: Replayer | undefined;
  readonly #existed: boolean;
  readonly #writeEmpty: boolean;
  #dirty = false;
  /** Calls answered from the file. */
  replayed = 0;
  /** Calls made and written to the file. */
  recorded = 0;

  /** Throws McpError RECORDING_INVALID when the file exists but is not a recording. */
  constructor(path: string, options: CassetteOptions) {
    this.path = path;
    this.mode = options.mode;
    this.#env = options.env ?? process.env;
    this.#existed = existsSync(path);
    this.#writeEmpty = options.writeEmpty === true && options.mode === "all";
    const old: Recording | undefined = this.#existed && options.mode !== "all" ? readRecording(path) : undefined;
    this.#recording = {
      format: "mcp-recording",
      version: 1,
      ...(options.pipeline !== undefined ? { pipeline: options.pipeline } : {}),
      ...(options.hash !== undefined ? { hash: options.hash } : {}),
      recordedAt: new Date().toISOString(),
      interactions: old ? [...old.interactions] : [],
    };
    const hint = options.hint ?? (options.mode === "none" ? `record the missing calls with --record-mode new (or all to record everything again)` : `record it again with --record-mode all`);
    if (options.mode !== "all")
      this.#replayer = new Replayer(path, { ...this.#recording, interactions: [...this.#recording.interactions] }, { hint: this.#existed ? hint : `there is no recording ${path} yet; ${hint}` });
  }

  /** Calls in the file (recorded before and now). */
  get interactions(): readonly Interaction[] {
    return this.#recording.interactions;
  }

  applies(req: CallRequest): boolean {
    return !IN_PROCESS_PROVIDERS.has(req.model.provider);
  }

  async lookup(req: CallRequest): Promise<CallHit | undefined> {
    if (!this.#replayer) return undefined;
    try {
      const hit = await this.#replayer.lookup(req);
      this.replayed++;
      return hit;
    } catch (e) {
      if (this.mode === "new" && e instanceof McpError && e.code === "REPLAY_MISS") return undefined;
      throw e;
    }
  }

  async store(req: CallRequest, output: unknown, info: { usage: Usage; latencyMs: number }): Promise<void> {
    if (this.mode === "none") return;
    this.#recording.interactions.push(interactionOf(req, output, info, this.#env));
    this.recorded++;
    this.#dirty = true;
    this.save();
  }

  /**
   * Writes the file when calls were recorded, or, in `all` mode, when an old file is to be
   * replaced (even by one with no calls: the old calls are no longer made).
   */
  save(): void {
    if (!this.#dirty && !(this.mode === "all" && (this.#existed || this.#writeEmpty))) return;
    const sorted = this.#recording.interactions
      .map((i, n) => ({ i, n }))
      .sort((a, b) => (a.i.step < b.i.step ? -1 : a.i.step > b.i.step ? 1 : a.i.key < b.i.key ? -1 : a.i.key > b.i.key ? 1 : a.n - b.n))
      .map((x) => x.i);
    writeRecording(this.path, { ...this.#recording, interactions: sorted });
    this.#dirty = false;
  }
}
