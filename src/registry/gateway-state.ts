/**
 * The live state of a gateway model's deployments (breakers, calls in flight, the balancer,
 * waiting calls), how it is made from a config, and the status view of it that metrics,
 * `GET /v1/deployments` and `mcp models --watch` read. The calls themselves are in
 * gateway-model.ts.
 */
import type { ModelCallContext } from "../models/base-model.js";
import type { DeploymentConfig, ModelConfig, RateLimits } from "../models/types.js";
import { Balancer } from "./balancer.js";
import { CircuitBreaker, type BreakerState } from "./circuit-breaker.js";
import { hasLimits } from "./rate-limiter.js";

/** Who hears a gateway's breaker changes. */
export interface BreakerListener {
  /** Hears every breaker change, whichever call caused it (metrics, alerts). */
  onBreaker?(model: string, deployment: string, state: BreakerState, previous: BreakerState): void;
}

/** A deployment's state, as metrics, `mcp models --watch` and tests read it. */
export interface DeploymentStatus {
  name: string;
  url: string | undefined;
  weight: number;
  maxConcurrency?: number;
  state: BreakerState;
  /** Consecutive failures while closed. */
  failures: number;
  inFlight: number;
  calls: number;
  errors: number;
  /** Calls that waited for this deployment's rate limit. */
  limitWaits: number;
  /** When an open breaker lets the next probe through (ms since the epoch). */
  retryAt?: number;
  /** A fleet's view (mergeGatewayStatus): how many processes' breakers are in each state. */
  breakers?: Partial<Record<BreakerState, number>>;
}

/** A gateway model's state. */
export interface GatewayStatus {
  model: string;
  balance: string;
  breaker: { failures: number; cooldownMs: number; probes: number };
  limits?: RateLimits;
  /** Calls that waited for the model's own rate limit. */
  limitWaits: number;
  deployments: DeploymentStatus[];
}

/** A deployment's live state, shared by every instance of the model (see GatewayState). */
export interface Deployment {
  readonly index: number;
  readonly name: string;
  readonly url: string | undefined;
  readonly weight: number;
  readonly maxConcurrency: number;
  readonly limits: RateLimits | undefined;
  readonly breaker: CircuitBreaker | undefined;
  inFlight: number;
  calls: number;
  errors: number;
  limitWaits: number;
}

/**
 * The live state of a model's deployments: breakers, calls in flight, the balancer's
 * position, the calls waiting for a slot. One per model name and deployment settings, shared
 * by the instances the orchestrator makes of the model (each pipeline compiles its own config
 * object of an mcp.yaml model): a deployment ejected by one pipeline's calls is out for all.
 */
export interface GatewayState {
  readonly signature: string;
  readonly deployments: Deployment[];
  readonly balancer: Balancer;
  /** Calls waiting for a deployment with a free slot (all at maxConcurrency). */
  readonly slotWaiters: Set<() => void>;
  /** The call whose breaker operation runs now: breaker changes are told to it. */
  caller: ModelCallContext | undefined;
  limitWaits: number;
}

/** What makes two configs of a model share a GatewayState. */
export function gatewaySignature(config: ModelConfig): string {
  return JSON.stringify([config.provider, config.baseUrl ?? config.url, config.deployments, config.balance, config.breaker, config.limits]);
}

/** A fresh GatewayState for a model's config; breaker changes go to the caller of the moment and to `services.onBreaker`. */
export function newGatewayState(config: ModelConfig, list: readonly DeploymentConfig[], signature: string, services: BreakerListener): GatewayState {
  const replicated = config.deployments !== undefined;
  const state: GatewayState = { signature, deployments: [], balancer: new Balancer(config.balance), slotWaiters: new Set(), caller: undefined, limitWaits: 0 };
  const modelName = config.name;
  const changed = (deployment: string, s: BreakerState, p: BreakerState) => {
    const d = state.deployments.find((x) => x.name === deployment);
    state.caller?.onNotice?.({ type: "breaker", deployment, state: s, previous: p, ...(d?.breaker ? { failures: d.breaker.failures } : {}) });
    services.onBreaker?.(modelName, deployment, s, p);
  };
  const named = deploymentNames(config, list);
  for (const [i, d] of list.entries()) {
    const url = d.baseUrl ?? d.url ?? config.baseUrl ?? config.url;
    const name = named[i]!;
    state.deployments.push({
      index: i,
      name,
      url,
      weight: d.weight ?? 1,
      maxConcurrency: d.maxConcurrency ?? Infinity,
      limits: hasLimits(d.limits) ? d.limits : undefined,
      // A model without deployments has no breaker: its retries are the step's.
      breaker: replicated ? new CircuitBreaker(config.breaker, { onChange: (s, p) => changed(name, s, p) }) : undefined,
      inFlight: 0,
      calls: 0,
      errors: 0,
      limitWaits: 0,
    });
  }
  return state;
}

/** A gateway's state now, as metrics and `mcp models --watch` show it. */
export function gatewayStatus(config: ModelConfig, state: GatewayState): GatewayStatus {
  const b = state.deployments[0]?.breaker?.settings ?? new CircuitBreaker(config.breaker).settings;
  return {
    model: config.name,
    balance: state.balancer.policy,
    breaker: { failures: b.failures, cooldownMs: b.cooldownMs, probes: b.probes },
    ...(hasLimits(config.limits) ? { limits: config.limits } : {}),
    limitWaits: state.limitWaits,
    deployments: state.deployments.map((d) => {
      const retryAt = d.breaker?.retryAt;
      return {
        name: d.name,
        url: d.url,
        weight: d.weight,
        ...(Number.isFinite(d.maxConcurrency) ? { maxConcurrency: d.maxConcurrency } : {}),
        state: d.breaker?.state ?? "closed",
        failures: d.breaker?.failures ?? 0,
        inFlight: d.inFlight,
        calls: d.calls,
        errors: d.errors,
        limitWaits: d.limitWaits,
        ...(retryAt !== undefined ? { retryAt } : {}),
      };
    }),
  };
}

/**
 * The state of the same gateways in several processes (a server and its queue workers) as one:
 * per model and deployment, calls in flight, calls, errors and limit waits added up; each
 * process has its own breaker per deployment, so `state` is the worst of them (open, then
 * half-open, then closed), `failures` the most, `retryAt` the soonest, and `breakers` counts
 * the processes' breakers by state.
 */
export function mergeGatewayStatus(lists: readonly (readonly GatewayStatus[])[]): GatewayStatus[] {
  const rank = { closed: 0, "half-open": 1, open: 2 } as const;
  const models = new Map<string, GatewayStatus>();
  for (const list of lists) {
    for (const g of list) {
      const have = models.get(g.model);
      if (!have) {
        models.set(g.model, { ...g, deployments: g.deployments.map((d) => ({ ...d, breakers: { ...(d.breakers ?? { [d.state]: 1 }) } })) });
        continue;
      }
      have.limitWaits += g.limitWaits;
      for (const d of g.deployments) {
        const m = have.deployments.find((x) => x.name === d.name);
        if (!m) {
          have.deployments.push({ ...d, breakers: { ...(d.breakers ?? { [d.state]: 1 }) } });
          continue;
        }
        m.inFlight += d.inFlight;
        m.calls += d.calls;
        m.errors += d.errors;
        m.limitWaits += d.limitWaits;
        m.failures = Math.max(m.failures, d.failures);
        if (rank[d.state] > rank[m.state]) m.state = d.state;
        if (d.retryAt !== undefined && (m.retryAt === undefined || d.retryAt < m.retryAt)) m.retryAt = d.retryAt;
        const b = (m.breakers ??= {});
        for (const [state, n] of Object.entries(d.breakers ?? { [d.state]: 1 }) as [BreakerState, number][]) b[state] = (b[state] ?? 0) + n;
      }
    }
  }
  return [...models.values()];
}

/**
 * The names of a model's deployments, in order: `name:`, else the URL's host:port; a name
 * already taken gets `#N`, its position in the list (two deployments of one server that
 * differ only by their key).
 */
export function deploymentNames(config: ModelConfig, list: readonly DeploymentConfig[]): string[] {
  const names = new Set<string>();
  return list.map((d, i) => {
    let name = d.name ?? hostOf(d.baseUrl ?? d.url ?? config.baseUrl ?? config.url) ?? `#${i + 1}`;
    if (names.has(name)) name = `${name}#${i + 1}`;
    names.add(name);
    return name;
  });
}

/** host:port of a URL, the default name of a deployment. */
function hostOf(url: string | undefined): string | undefined {
  if (!url) return undefined;
  try {
    return new URL(url).host;
  } catch {
    return undefined;
  }
}
