/**
 * What a run keeps beyond itself, set up from a pipeline and the command-line flags: the
 * store, the run journal, the context manager, and the call hooks (replay, cache, record).
 * `mcp run`, `mcp resume` (and `mcp run --watch`, once per run) call createRunEnvironment
 * and pass its `options` to the orchestrator; `close()` when done.
 *
 * Flags: --store sqlite|memory, --record FILE, --replay FILE, --record-mode none|new|all,
 * --no-cache, --conversation ID.
 */
import { existsSync } from "node:fs";
import type { CompiledPipeline } from "../compiler/types.js";
import { Cassette, RECORD_MODES, type RecordMode } from "../cache/cassette.js";
import { ensureWritable } from "../cache/recording.js";
import { cacheMayApply, ResponseCache } from "../cache/response-cache.js";
import { ContextManager, type Summarizer } from "../context/context-manager.js";
import type { BaseModel } from "../models/base-model.js";
import { createModel } from "../models/providers/index.js";
import type { CallHook } from "../events/ports.js";
import type { RunOptions } from "../orchestrator/run.js";
import { MemoryStore } from "../store/memory-store.js";
import { openStore, storePath } from "../store/open-store.js";
import { isRedisUrl } from "../store/store-url.js";
import { StoreJournal } from "../store/run-journal.js";
import type { Store } from "../store/store.js";
import { McpError } from "../util/errors.js";
import { oneOf } from "./args.js";
import { UsageError } from "./io.js";

/** parseArgs definitions of the flags, to spread into a command's options. */
export const RUN_ENVIRONMENT_OPTIONS = {
  store: { type: "string" },
  record: { type: "string" },
  replay: { type: "string" },
  "record-mode": { type: "string" },
  "no-cache": { type: "boolean" },
  conversation: { type: "string" },
} as const;

/** Help text of the flags, for a command's --help. */
export const RUN_ENVIRONMENT_HELP = `State (docs/state.md):
  --store KIND          sqlite|memory|redis://HOST:PORT: where the run journal, conversations
                        and cache live  [default: MCP_STORE, else mcp.yaml store, else sqlite
                        at .mcp/state.db]
  --conversation ID     conversation id (overrides the pipeline's context.conversation)
  --no-cache            do not read or fill the response cache
  --record FILE         write every model call (request, response, usage, latency) to FILE
                        (.json, or .yaml/.yml); the cache is bypassed so every call is real.
                        Calls to nlp and mock models run in-process and are not recorded
  --replay FILE         answer every model call from FILE (made with --record): no network,
                        no keys; a call not in FILE fails the step (replay-miss)
  --record-mode MODE    none|new|all, with --record or --replay FILE (docs/testing.md):
                        none replays only (--replay), all records every call (--record),
                        new replays what FILE has and records the missing calls into it`;

export interface RunEnvironmentFlags {
  /** Store kind (or a redis:// URL) instead of mcp.yaml's. */
  store?: string;
  record?: string;
  replay?: string;
  /** What --record/--replay do (VCR's modes). @default "all" with --record, "none" with --replay */
  recordMode?: RecordMode;
  noCache?: boolean;
  conversation?: string;
}

/** Reads the flags from parsed arguments; throws UsageError for bad values. */
export function runEnvironmentFlags(command: string, values: Record<string, unknown>): RunEnvironmentFlags {
  const store = values.store as string | undefined;
  if (store !== undefined && store !== "sqlite" && store !== "memory" && !isRedisUrl(store)) throw new UsageError(`--store must be sqlite, memory or a redis://HOST:PORT URL; got '${store}'`, command);
  const record = values.record as string | undefined;
  const replay = values.replay as string | undefined;
  if (record !== undefined && replay !== undefined) throw new UsageError("give --record or --replay, not both", command);
  if (record === "" || replay === "") throw new UsageError(`--${record === "" ? "record" : "replay"} needs a file name`, command);
  const recordMode = values["record-mode"] === undefined ? undefined : oneOf(command, "record-mode", values["record-mode"] as string, RECORD_MODES, "none");
  if (recordMode !== undefined && record === undefined && replay === undefined) throw new UsageError("--record-mode goes with --record FILE or --replay FILE", command);
  const conversation = values.conversation as string | undefined;
  if (conversation === "") throw new UsageError("--conversation needs an id", command);
  return {
    ...(store ? { store } : {}),
    ...(record !== undefined ? { record } : {}),
    ...(replay !== undefined ? { replay } : {}),
    ...(recordMode !== undefined ? { recordMode } : {}),
    ...(values["no-cache"] ? { noCache: true } : {}),
    ...(conversation !== undefined ? { conversation } : {}),
  };
}

export interface RunEnvironment {
  /** Pass to orchestrator.startRun / runOnce (merge your own observer, concurrency, resume). */
  options: RunOptions;
  store: Store;
  context: ContextManager;
  /** The recording of --record/--replay: `recorded`, `replayed`, `path`. */
  recording?: Cassette;
  /** Things the user should know (printed on stderr by the CLI). */
  warnings: string[];
  /** Closes what this environment opened (the store, unless it was given). */
  close(): Promise<void>;
}

export interface RunEnvironmentDeps {
  /** Use this store (e.g. the one `mcp resume` found the run in); not closed by close(). */
  store?: Store;
  /** Environment for the compression model's API key and for redacting recordings. @default process.env */
  env?: NodeJS.ProcessEnv;
  /** Command named in usage errors. @default "run" */
  command?: string;
}

/**
 * Opens the store and builds the run options for `pipeline`.
 * @example
 * const envr = await createRunEnvironment(pipeline, { conversation: "c1" });
 * try { await orchestrator.runPipeline(pipeline, input, envr.options); } finally { await envr.close(); }
 */
export async function createRunEnvironment(pipeline: CompiledPipeline, flags: RunEnvironmentFlags = {}, deps: RunEnvironmentDeps = {}): Promise<RunEnvironment> {
  const env = deps.env ?? process.env;
  const command = deps.command ?? "run";
  const warnings: string[] = [];
  let store = deps.store;
  const owned = !store;
  if (!store) {
    try {
      store = await openStore(pipeline.settings, flags.store ?? (env.MCP_STORE || undefined));
    } catch (e) {
      if (e instanceof McpError && e.code === "STORE_UNSUPPORTED") throw new UsageError(`${e.message} (mcp.yaml store.type, or --store)`, command);
      if (e instanceof McpError && e.code === "STORE_VERSION") throw new UsageError(e.message, command);
      if (e instanceof McpError && e.code === "REDIS_UNREACHABLE") throw new UsageError(e.message, command, false);
      // A read-only checkout or a full disk must not stop a run: it runs without memory.
      warnings.push(`cannot open the store ${storePath(pipeline.settings)} (${(e as Error).message}); this run is kept in memory only and cannot be resumed`);
      store = new MemoryStore();
    }
  }

  let recording: Cassette | undefined;
  const file = flags.record ?? flags.replay;
  if (file !== undefined) {
    const mode: RecordMode = flags.recordMode ?? (flags.record !== undefined ? "all" : "none");
    try {
      if (mode === "none" && !existsSync(file)) throw new McpError("RECORDING_INVALID", `cannot read the replay file ${file}: no such file`);
      if (mode !== "none") ensureWritable(file);
      recording = new Cassette(file, {
        mode,
        pipeline: pipeline.name,
        hash: pipeline.hash,
        env,
        writeEmpty: mode === "all",
        hint: mode === "none" ? `record it again with --record ${file}, or add the missing calls with --replay ${file} --record-mode new` : `record it again with --record ${file}`,
      });
    } catch (e) {
      if (owned) await store.close();
      if (e instanceof McpError) throw new UsageError(e.message, command);
      throw new UsageError((e as Error).message.startsWith("cannot write") ? (e as Error).message : `cannot write the recording ${file}: ${(e as Error).message}`, command);
    }
  }

  // Order matters: the first hit wins. A recording answers what it has (or fails, in mode
  // none); recording bypasses the cache so that every call in the file was really made.
  const hooks: CallHook[] = [];
  if (recording) hooks.push(recording);
  else if (!flags.noCache && cacheMayApply(pipeline.steps.values(), pipeline.models, pipeline.settings.cache)) {
    hooks.push(new ResponseCache(store, { ...(pipeline.settings.cache ? { project: pipeline.settings.cache } : {}) }));
  }

  // Compression by an LLM (context.compress.model); under replay, the nlp summary (no calls).
  const models = new Map<string, Promise<BaseModel>>();
  const summarize: Summarizer = async (text, req) => {
    const config = pipeline.models.find((m) => m.name === req.model);
    if (!config) throw new McpError("MCP401", `unknown model '${req.model}' for context compression`);
    let model = models.get(config.name);
    if (!model) models.set(config.name, (model = createModel(config, { env })));
    const m = await model;
    const input = config.provider === "nlp" ? { text } : { prompt: `Summarise this conversation in a few sentences. Keep names, facts, numbers and decisions.\n\n${text}` };
    const out = (await m.process(input, { signal: AbortSignal.timeout(config.timeoutMs ?? 120_000), capabilities: config.provider === "nlp" ? ["summarization"] : ["text-generation"] })) as
      { text?: unknown; summary?: unknown } | string;
    if (typeof out === "string") return out;
    return typeof out?.text === "string" ? out.text : typeof out?.summary === "string" ? out.summary : JSON.stringify(out);
  };
  const context = new ContextManager(store, recording?.mode === "none" ? {} : { summarize });

  const options: RunOptions = {
    hooks,
    journal: new StoreJournal(store),
    context,
    ...(flags.conversation !== undefined ? { conversationId: flags.conversation } : {}),
  };
  let closed = false;
  return {
    options,
    store,
    context,
    ...(recording ? { recording } : {}),
    warnings,
    async close() {
      if (closed) return;
      closed = true;
      try {
        recording?.save();
      } catch (e) {
        throw new UsageError((e as Error).message, command);
      } finally {
        await Promise.all([...models.values()].map(async (p) => (await p.catch(() => undefined))?.close()));
        if (owned) await store.close();
      }
    },
  };
}
