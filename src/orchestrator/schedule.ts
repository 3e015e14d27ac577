/**
 * When each step of a run starts: as soon as its dependencies have settled. A ready counter
 * per waiting step (how many dependencies it still waits for) and a list per step of who
 * waits for it; a step's settle (RunScope.settle) counts its waiters down and starts those
 * at zero. No promise per edge, however wide the joins.
 *
 * Steps started while others are being started (a step that settles at once, such as a
 * resumed or skipped one, starts its dependants) go on a ready list drained by the outermost
 * start, so a long chain of such steps does not nest on the stack.
 *
 * The graph code knows nothing of what a step does: `launch` runs one (step.ts).
 */
import type { StepRecord } from "../events/report.js";
import type { RunScope } from "./run-scope.js";

const OPEN = 0;
const SETTLED = 1;

export class Schedule {
  readonly #scope: RunScope;
  readonly #launch: (id: string) => Promise<unknown>;
  /** Steps started (OPEN) and settled (SETTLED). */
  readonly #state = new Map<string, number>();
  /** Dependencies each waiting step still waits for. */
  readonly #counts = new Map<string, number>();
  /** The steps waiting for each step. */
  readonly #waiters = new Map<string, string[]>();
  /** Who asked for a step's promise (runStep). */
  readonly #resolvers = new Map<string, ((r: StepRecord) => void)[]>();
  readonly #ready: string[] = [];
  #draining = false;
  #open = 0;
  #idle: { promise: Promise<void>; resolve: () => void; reject: (e: unknown) => void } | undefined;
  #bug: unknown;

  constructor(scope: RunScope, launch: (id: string) => Promise<unknown>) {
    this.#scope = scope;
    this.#launch = launch;
  }

  /**
   * Starts a step: now when its dependencies have settled, else when the last one does.
   * `dependencies` says which steps it waits for (none: a slice's given steps).
   */
  start(id: string, dependencies: readonly string[]): void {
    if (this.#state.has(id)) return;
    this.#state.set(id, OPEN);
    this.#open++;
    const records = this.#scope.records;
    let waits = 0;
    for (const d of dependencies) {
      if (records[d] !== undefined) continue;
      waits++;
      const w = this.#waiters.get(d);
      if (w) w.push(id);
      else this.#waiters.set(d, [id]);
    }
    if (waits === 0) this.#ready.push(id);
    else this.#counts.set(id, waits);
    this.#drain();
  }

  /** Whether a step was started. */
  started(id: string): boolean {
    return this.#state.has(id);
  }

  /** A step settled (RunScope.settle): its waiters count down; those at zero start. */
  settled(id: string, record: StepRecord): void {
    if (this.#state.get(id) !== OPEN) return;
    this.#state.set(id, SETTLED);
    const resolvers = this.#resolvers.get(id);
    if (resolvers) {
      this.#resolvers.delete(id);
      for (const r of resolvers) r(record);
    }
    const waiters = this.#waiters.get(id);
    if (waiters) {
      this.#waiters.delete(id);
      for (const w of waiters) {
        const n = this.#counts.get(w)! - 1;
        if (n === 0) {
          this.#counts.delete(w);
          this.#ready.push(w);
        } else this.#counts.set(w, n);
      }
      this.#drain();
    }
    if (--this.#open === 0) this.#idle?.resolve();
  }

  /** The step's record when it settles. */
  record(id: string): Promise<StepRecord> {
    const done = this.#scope.records[id];
    if (done !== undefined && this.#state.get(id) === SETTLED) return Promise.resolve(done);
    return new Promise((resolve) => {
      const rs = this.#resolvers.get(id);
      if (rs) rs.push(resolve);
      else this.#resolvers.set(id, [resolve]);
    });
  }

  /** Resolves when every step started has settled; rejects on a bug in a step's code. */
  idle(): Promise<void> {
    if (this.#bug !== undefined) return Promise.reject(this.#bug);
    if (this.#open === 0) return Promise.resolve();
    if (!this.#idle) {
      let resolve!: () => void;
      let reject!: (e: unknown) => void;
      const promise = new Promise<void>((res, rej) => {
        resolve = res;
        reject = rej;
      });
      this.#idle = { promise, resolve, reject };
    }
    return this.#idle.promise;
  }

  #drain(): void {
    if (this.#draining) return;
    this.#draining = true;
    try {
      const ready = this.#ready;
      for (let i = 0; i < ready.length; i++) this.#launch(ready[i]!).then(undefined, this.#onBug);
      ready.length = 0;
    } finally {
      this.#draining = false;
    }
  }

  /** A step's code threw past its own failure handling: a bug; the run's `done` rejects with it. (One closure per run, not per step.) */
  readonly #onBug = (e: unknown): void => {
    this.#bug ??= e;
    this.#idle?.reject(e);
  };
}
