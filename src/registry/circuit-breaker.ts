/**
 * A circuit breaker for one deployment of a model:
 *
 *          failures >= threshold                cool-down over
 *   closed ----------------------> open ------------------------> half-open
 *     ^                             ^                                 |
 *     |     `probes` successes      |        a probe fails            |
 *     +-----------------------------|---------------------------------+
 *                                   +---------------------------------+
 *
 * Closed: calls flow; consecutive failures are counted (a success resets the count). Open:
 * no call is let through until the cool-down is over. Half-open: up to `probes` calls at
 * once are let through; that many successes close the breaker, one failure opens it again
 * for another cool-down. Only failures of the deployment count (5xx, 429, timeouts, refused
 * connections), never the caller's (a bad request, a cancellation). Knows nothing of HTTP.
 */
import type { BreakerSettings } from "../models/types.js";

export type BreakerState = "closed" | "open" | "half-open";

/** Default thresholds (mcp.yaml `breaker:` overrides them per model). */
export const DEFAULT_BREAKER: Required<BreakerSettings> = { failures: 3, cooldownMs: 10_000, probes: 1 };

/** The right to make one call, from tryAcquire(). */
export interface BreakerTicket {
  readonly generation: number;
  readonly probe: boolean;
}

export class CircuitBreaker {
  readonly settings: Required<BreakerSettings>;
  #state: BreakerState = "closed";
  #failures = 0;
  #openedAt = 0;
  #probesInFlight = 0;
  #probeSuccesses = 0;
  /** Grows at every change of state: tickets of an earlier state are stale. */
  #generation = 0;
  readonly #now: () => number;
  readonly #onChange: ((state: BreakerState, previous: BreakerState) => void) | undefined;

  constructor(settings: BreakerSettings = {}, options: { now?: () => number; onChange?: (state: BreakerState, previous: BreakerState) => void } = {}) {
    this.settings = { ...DEFAULT_BREAKER, ...settings };
    for (const [k, v] of Object.entries(this.settings)) {
      if (!Number.isFinite(v) || v < (k === "cooldownMs" ? 0 : 1)) throw new TypeError(`breaker: \`${k}\` must be a ${k === "cooldownMs" ? "non-negative" : "positive"} number, received ${String(v)}`);
    }
    this.#now = options.now ?? Date.now;
    this.#onChange = options.onChange;
  }

  /** The state now (an open breaker whose cool-down is over reads as half-open). */
  get state(): BreakerState {
    if (this.#state === "open" && this.#now() - this.#openedAt >= this.settings.cooldownMs) this.#set("half-open");
    return this.#state;
  }

  /** Consecutive failures counted while closed. */
  get failures(): number {
    return this.#failures;
  }

  /** When an open breaker will let a probe through (ms since the epoch), else undefined. */
  get retryAt(): number | undefined {
    return this.state === "open" ? this.#openedAt + this.settings.cooldownMs : undefined;
  }

  /** Whether a call may go now, without taking a slot (for choosing among deployments). */
  available(): boolean {
    const s = this.state;
    return s === "closed" || (s === "half-open" && this.#probesInFlight < this.settings.probes);
  }

  /**
   * Takes the right to call: a ticket when the call may go (a probe slot is taken when
   * half-open), else undefined. Exactly one of succeeded(), failed() or released() must
   * follow with the ticket. A ticket taken before the state last changed counts for nothing
   * (a slow call that began before the breaker opened does not close it later).
   */
  tryAcquire(): BreakerTicket | undefined {
    const s = this.state;
    if (s === "closed") return { generation: this.#generation, probe: false };
    if (s === "half-open" && this.#probesInFlight < this.settings.probes) {
      this.#probesInFlight++;
      return { generation: this.#generation, probe: true };
    }
    return undefined;
  }

  succeeded(ticket: BreakerTicket): void {
    if (ticket.generation !== this.#generation) return;
    if (ticket.probe) {
      this.#probesInFlight--;
      if (++this.#probeSuccesses >= this.settings.probes) this.#set("closed");
      return;
    }
    this.#failures = 0;
  }

  failed(ticket: BreakerTicket): void {
    if (ticket.generation !== this.#generation) return;
    if (ticket.probe) {
      this.#probesInFlight--;
      this.#open();
      return;
    }
    if (++this.#failures >= this.settings.failures) this.#open();
  }

  /** The call ended without telling anything of the deployment (cancelled, the caller's mistake). */
  released(ticket: BreakerTicket): void {
    if (ticket.generation === this.#generation && ticket.probe) this.#probesInFlight--;
  }

  #open(): void {
    this.#openedAt = this.#now();
    this.#set("open");
  }

  #set(state: BreakerState): void {
    const previous = this.#state;
    if (previous === state) return;
    this.#state = state;
    this.#generation++;
    this.#probesInFlight = 0;
    this.#probeSuccesses = 0;
    if (state === "closed") this.#failures = 0;
    this.#onChange?.(state, previous);
  }
}
