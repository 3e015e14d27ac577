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

const UNSTARTED = 0;
const OPEN = 1;
const SETTLED = 2;

/** What the schedule knows of one step: one object and one map entry per step. */
interface Node {
  state: number;
  /** Dependencies it still waits for. */
  count: number;
  /** The steps waiting for it. */
  waiters: Node[] | undefined;
  /** Who asked for its promise (runStep). */
  resolvers: ((r: StepRecord) => void)[] | undefined;
  readonly id: string;
}

export class Schedule {
  readonly #scope: RunScope;
  readonly #launch: (id: string) => Promise<unknown>;
  readonly #nodes = new Map<string, Node>();
  readonly #ready: string[] = [];
  #draining = false;
  #open = 0;
  #idle: { promise: Promise<void>; resolve: () => void; reject: (e: unknown) => void } | undefined;
  #bug: unknown;

  constructor(scope: RunScope, launch: (id: string) => Promise<unknown>) {
    this.#scope = scope;
    this.#launch = launch;
  }

  #node(id: string): Node {
    let n = this.#nodes.get(id);
    if (!n) this.#nodes.set(id, (n = { state: UNSTARTED, count: 0, waiters: undefined, resolvers: undefined, id }));
    return n;
  }

  /**
   * Starts a step: now when its dependencies have settled, else when the last one does.
   * `dependencies` says which steps it waits for (none: a slice's given steps).
   */
  start(id: string, dependencies: readonly string[]): void {
    const node = this.#node(id);
    if (node.state !== UNSTARTED) return;
    node.state = OPEN;
    this.#open++;
    const records = this.#scope.records;
    let waits = 0;
    for (const d of dependencies) {
      if (records[d] !== undefined) continue;
      waits++;
      const dep = this.#node(d);
      if (dep.waiters) dep.waiters.push(node);
      else dep.waiters = [node];
    }
    if (waits === 0) this.#ready.push(id);
    else node.count = waits;
    this.#drain();
  }

  /** Whether a step was started. */
  started(id: string): boolean {
    const n = this.#nodes.get(id);
    return n !== undefined && n.state !== UNSTARTED;
  }

  /** A step settled (RunScope.settle): its waiters count down; those at zero start. */
  settled(id: string, record: StepRecord): void {
    const node = this.#nodes.get(id);
    if (node?.state !== OPEN) return;
    node.state = SETTLED;
    const resolvers = node.resolvers;
    if (resolvers) {
      node.resolvers = undefined;
      for (const r of resolvers) r(record);
    }
    const waiters = node.waiters;
    if (waiters) {
      node.waiters = undefined;
      for (const w of waiters) if (--w.count === 0) this.#ready.push(w.id);
      this.#drain();
    }
    if (--this.#open === 0) this.#idle?.resolve();
  }

  /** The step's record when it settles. */
  record(id: string): Promise<StepRecord> {
    const done = this.#scope.records[id];
    const node = this.#node(id);
    if (done !== undefined && node.state === SETTLED) return Promise.resolve(done);
    return new Promise((resolve) => {
      if (node.resolvers) node.resolvers.push(resolve);
      else node.resolvers = [resolve];
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
