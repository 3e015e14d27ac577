/**
 * Picks the deployment of a model a call goes to, among those its circuit breaker and its
 * `maxConcurrency` let through:
 * - `least-in-flight` (default): the fewest calls in flight relative to its weight; ties go
 *   round the list so equal replicas share the load evenly even one call at a time;
 * - `weighted`: smooth weighted round-robin (nginx's): over any run of calls each replica
 *   gets its share of the weights, interleaved rather than in bursts;
 * - `round-robin`: each in turn.
 * Knows nothing of HTTP or breakers: it sees a list of candidates.
 */
import type { BalancePolicy } from "../models/types.js";

/** What the balancer reads of a deployment. */
export interface Candidate {
  readonly weight: number;
  readonly inFlight: number;
}

export class Balancer {
  readonly policy: BalancePolicy;
  #next = 0;
  /** Smooth weighted round-robin: the current weight of each deployment, by index. */
  readonly #current: number[] = [];

  constructor(policy: BalancePolicy = "least-in-flight") {
    this.policy = policy;
  }

  /**
   * The index in `all` of the deployment to use, among those `usable` says may take a call;
   * -1 when none may.
   */
  pick(all: readonly Candidate[], usable: (i: number) => boolean): number {
    const n = all.length;
    switch (this.policy) {
      case "round-robin": {
        for (let k = 0; k < n; k++) {
          const i = (this.#next + k) % n;
          if (usable(i)) {
            this.#next = (i + 1) % n;
            return i;
          }
        }
        return -1;
      }
      case "weighted": {
        let total = 0;
        let best = -1;
        for (let i = 0; i < n; i++) {
          if (!usable(i)) continue;
          const w = all[i]!.weight;
          total += w;
          this.#current[i] = (this.#current[i] ?? 0) + w;
          if (best === -1 || this.#current[i]! > this.#current[best]!) best = i;
        }
        if (best !== -1) this.#current[best]! -= total;
        return best;
      }
      case "least-in-flight": {
        let best = -1;
        let bestLoad = Infinity;
        for (let k = 0; k < n; k++) {
          const i = (this.#next + k) % n;
          if (!usable(i)) continue;
          const d = all[i]!;
          const load = (d.inFlight + 1) / d.weight;
          if (load < bestLoad) {
            best = i;
            bestLoad = load;
          }
        }
        if (best !== -1) this.#next = (best + 1) % n;
        return best;
      }
    }
  }
}
