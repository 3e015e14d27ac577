/**
 * A model as a gateway serves it: its deployments (replicas) balanced, each behind a circuit
 * breaker and an optional `maxConcurrency`, and the model's and each deployment's rate limits
 * held through a RateLimiter. The orchestrator wraps a model in one when its config has
 * `deployments` or `limits`; plain models are never wrapped (nothing here is on their path).
 *
 * One call of the step (one attempt) goes to one deployment; when that deployment fails in
 * a way that is its own (5xx, 429, timeout, refused connection), the call goes on to the
 * next usable deployment at once, so the step's retries and fallbacks see one model. When
 * every deployment's breaker is open, the call fails with a retryable error whose
 * retryAfterMs is the next probe time, so the step's retry waits for it.
 */
import { trace } from "@opentelemetry/api";
import { serverAttributes } from "../telemetry/gen-ai.js";
import { BaseModel, usageOf, type ModelCallContext } from "../models/base-model.js";
import { ModelError } from "../models/errors.js";
import { isStreamingModel, type ModelStreamEvent, type StreamingModel } from "../models/streaming.js";
import type { DeploymentConfig, LlmOutput, ModelConfig } from "../models/types.js";
import { estimateTokens } from "../util/tokens.js";
import type { Balancer } from "./balancer.js";
import type { BreakerTicket } from "./circuit-breaker.js";
import { gatewaySignature, gatewayStatus, newGatewayState, type BreakerListener, type Deployment, type GatewayState, type GatewayStatus } from "./gateway-state.js";
import { hasLimits, type RateLimiter, type RatePermit } from "./rate-limiter.js";
import { deploymentSlotKey, type SharedSlots, type SlotLease } from "./shared-slots.js";

export type { DeploymentStatus, GatewayState, GatewayStatus } from "./gateway-state.js";
export { mergeGatewayStatus } from "./gateway-state.js";

/** What a gateway model needs from the orchestrator. */
export interface GatewayServices extends BreakerListener {
  /** Makes the model of one deployment (the config with the deployment's fields over it). */
  create(config: ModelConfig): Promise<BaseModel>;
  limiter: RateLimiter;
  /** Deployments' `maxConcurrency` shared with other processes (a fleet of workers); per process without. */
  slots?: SharedSlots;
}

export class GatewayModel extends BaseModel implements StreamingModel {
  readonly config: ModelConfig;
  readonly state: GatewayState;
  readonly #deployments: Deployment[];
  readonly #balancer: Balancer;
  readonly #services: GatewayServices;
  readonly #slotWaiters: Set<() => void>;
  /** Each deployment's config (the model's with the deployment's fields over it) and model, by index. */
  readonly #configs: ModelConfig[];
  readonly #models: (Promise<BaseModel> | undefined)[] = [];

  /** What makes two configs of a model share a GatewayState. */
  static signature(config: ModelConfig): string {
    return gatewaySignature(config);
  }

  /** `shared`: the state of an earlier instance of the model, reused when its signature matches. */
  constructor(config: ModelConfig, services: GatewayServices, shared?: GatewayState) {
    super();
    this.config = config;
    this.name = config.name;
    this.capabilities = [...config.capabilities];
    this.#services = services;
    const list: DeploymentConfig[] = config.deployments ?? [{}];
    const { deployments: _d, limits: _l, balance: _b, breaker: _br, ...base } = config;
    this.#configs = list.map((d) => ({
      ...base,
      ...(d.baseUrl !== undefined ? { baseUrl: d.baseUrl } : {}),
      ...(d.url !== undefined ? { url: d.url } : {}),
      ...(d.apiKeyEnv !== undefined ? { apiKeyEnv: d.apiKeyEnv } : {}),
      ...(d.model !== undefined ? { model: d.model } : {}),
    }));
    const signature = GatewayModel.signature(config);
    this.state = shared && shared.signature === signature ? shared : newGatewayState(config, list, signature, services);
    this.#deployments = this.state.deployments;
    this.#balancer = this.state.balancer;
    this.#slotWaiters = this.state.slotWaiters;
  }

  /** The deployments' state now. */
  status(): GatewayStatus {
    return gatewayStatus(this.config, this.state);
  }

  async process(input: unknown, ctx: ModelCallContext): Promise<unknown> {
    return this.#call(input, ctx, async (model) => {
      const output = await model.process(input, ctx);
      return { output, usage: usageOf(output) };
    });
  }

  /** Streams from one deployment; another is tried only when one fails before its first delta. */
  async *stream(input: unknown, ctx: ModelCallContext): AsyncGenerator<ModelStreamEvent> {
    const modelPermit = await this.#modelPermit(input, ctx);
    let last: unknown;
    const tried = new Set<Deployment>();
    try {
      for (;;) {
        const taken = await this.#take(ctx, tried, last);
        const { dep, ticket, permit } = taken;
        const model = await this.#modelOf(dep);
        let started = false;
        let ended = false;
        try {
          // A provider that cannot stream answers in one piece: the done event alone.
          const events: AsyncIterable<ModelStreamEvent> = isStreamingModel(model) ? model.stream(input, ctx) : once(model, input, ctx);
          for await (const ev of events) {
            started = true;
            if (ev.type === "done") {
              ended = true;
              this.#end(dep, ticket, permit, ctx, "succeeded", ev.output.usage);
              void modelPermit?.settle(ev.output.usage);
            }
            yield ev;
          }
          return;
        } catch (e) {
          const blame = this.#blame(e, ctx);
          ended = true;
          this.#end(dep, ticket, permit, ctx, blame);
          if (started || blame !== "failed") throw e;
          last = e;
        } finally {
          // The consumer stopped reading before the answer was done.
          if (!ended) this.#end(dep, ticket, permit, ctx, "released");
        }
      }
    } finally {
      void modelPermit?.settle(undefined);
    }
  }

  override async close(): Promise<void> {
    await Promise.all(this.#models.map(async (m) => (await m?.catch(() => undefined))?.close()));
  }

  async #call(input: unknown, ctx: ModelCallContext, run: (model: BaseModel) => Promise<{ output: unknown; usage: { inputTokens: number; outputTokens: number } | undefined }>): Promise<unknown> {
    const modelPermit = await this.#modelPermit(input, ctx);
    const tried = new Set<Deployment>();
    let last: unknown;
    try {
      for (;;) {
        const { dep, ticket, permit } = await this.#take(ctx, tried, last);
        try {
          const { output, usage } = await run(await this.#modelOf(dep));
          this.#end(dep, ticket, permit, ctx, "succeeded", usage);
          void modelPermit?.settle(usage);
          return output;
        } catch (e) {
          const blame = this.#blame(e, ctx);
          this.#end(dep, ticket, permit, ctx, blame);
          if (blame !== "failed") throw e;
          last = e;
        }
      }
    } finally {
      void modelPermit?.settle(undefined);
    }
  }

  /** The model-wide rate limit, when the model has one. */
  async #modelPermit(input: unknown, ctx: ModelCallContext): Promise<RatePermit | undefined> {
    const limits = this.config.limits;
    if (!hasLimits(limits)) return undefined;
    return this.#services.limiter.acquire(
      `model/${this.config.name}`,
      limits,
      { inputTokens: estimateTokens(input) },
      {
        signal: ctx.signal,
        onWait: (w) => {
          this.state.limitWaits++;
          ctx.onNotice?.({ type: "limit_wait", limit: w.limit, waitMs: w.waitMs });
        },
      },
    );
  }

  /**
   * A deployment for the call, with its breaker ticket and rate permit. Throws the last
   * failure when every deployment has been tried, or a retryable error when none is usable.
   */
  async #take(ctx: ModelCallContext, tried: Set<Deployment>, last: unknown): Promise<{ dep: Deployment; ticket: BreakerTicket | undefined; permit: RatePermit | undefined }> {
    const deps = this.#deployments;
    const slots = this.#services.slots;
    // Deployments whose fleet-wide slots (SharedSlots) were all taken at the last look.
    const fleetFull = new Set<Deployment>();
    for (;;) {
      ctx.signal.throwIfAborted();
      this.state.caller = ctx;
      let i: number;
      let ticket: BreakerTicket | undefined;
      try {
        i = this.#balancer.pick(deps, (k) => !tried.has(deps[k]!) && !fleetFull.has(deps[k]!) && deps[k]!.inFlight < deps[k]!.maxConcurrency && (deps[k]!.breaker?.available() ?? true));
        ticket = i === -1 ? undefined : deps[i]!.breaker?.tryAcquire();
      } finally {
        this.state.caller = undefined;
      }
      if (i !== -1) {
        const dep = deps[i]!;
        dep.inFlight++;
        let lease: SlotLease | undefined;
        if (slots && Number.isFinite(dep.maxConcurrency)) {
          try {
            lease = await slots.tryTake(deploymentSlotKey(this.config.name, dep.name), dep.maxConcurrency);
          } catch (e) {
            this.#end(dep, ticket, undefined, ctx, "released");
            throw e;
          }
          if (!lease) {
            // Full in the fleet: another deployment, or wait for a slot below.
            this.#end(dep, ticket, undefined, ctx, "released");
            fleetFull.add(dep);
            continue;
          }
        }
        // The model call's span (when tracing is on) says which deployment answered.
        trace.getActiveSpan()?.setAttributes({ "mcp.deployment": dep.name, ...serverAttributes(dep.url) });
        tried.add(dep);
        dep.calls++;
        let permit: RatePermit | undefined = withLease(undefined, lease);
        if (dep.limits) {
          try {
            permit = await this.#services.limiter.acquire(
              `deployment/${this.config.name}/${dep.name}`,
              dep.limits,
              { inputTokens: 0 },
              {
                signal: ctx.signal,
                onWait: (w) => {
                  dep.limitWaits++;
                  ctx.onNotice?.({ type: "limit_wait", deployment: dep.name, limit: w.limit, waitMs: w.waitMs });
                },
              },
            );
          } catch (e) {
            this.#end(dep, ticket, withLease(undefined, lease), ctx, "released");
            throw e;
          }
          permit = withLease(permit, lease);
        }
        return { dep, ticket, permit };
      }
      // None usable now: wait for a slot if some untried deployment is only full (here, or in the fleet).
      const full = deps.some((d) => !tried.has(d) && !fleetFull.has(d) && d.inFlight >= d.maxConcurrency && (d.breaker?.available() ?? true));
      if (full || fleetFull.size > 0) {
        const stop = new AbortController();
        const signal = AbortSignal.any([ctx.signal, stop.signal]);
        const waits: Promise<void>[] = [];
        if (full) waits.push(this.#slot(signal));
        if (fleetFull.size > 0 && slots)
          waits.push(
            slots.freed(
              [...fleetFull].map((d) => deploymentSlotKey(this.config.name, d.name)),
              signal,
            ),
          );
        await Promise.race(waits.map((w) => w.catch(() => undefined)));
        stop.abort();
        fleetFull.clear();
        continue;
      }
      if (last !== undefined) throw last;
      const retryAt = Math.min(...deps.map((d) => d.breaker?.retryAt ?? Infinity));
      const waitMs = Number.isFinite(retryAt) ? Math.max(0, retryAt - Date.now()) : undefined;
      throw new ModelError(
        `${this.config.provider} model '${this.config.name}': no deployment is available (${deps.map((d) => `${d.name}: ${d.breaker?.state ?? "closed"}`).join(", ")})${waitMs !== undefined ? `; the next probe in ${Math.ceil(waitMs / 100) / 10}s` : ""}`,
        { kind: "retryable", provider: this.config.provider, model: this.config.name, ...(waitMs !== undefined ? { retryAfterMs: waitMs } : {}) },
      );
    }
  }

  #modelOf(dep: Deployment): Promise<BaseModel> {
    const i = dep.index;
    let m = this.#models[i];
    if (!m) {
      this.#models[i] = m = this.#services.create(this.#configs[i]!);
      m.catch(() => (this.#models[i] = undefined));
    }
    return m;
  }

  /** Whose fault a failure is: the deployment's (try another), or not (give it back). */
  #blame(e: unknown, ctx: ModelCallContext): "failed" | "released" {
    if (ctx.signal.aborted) return "released";
    if (!(e instanceof ModelError)) return "released";
    const blame = e.kind === "retryable" || e.kind === "rate_limited" || e.kind === "malformed" ? "failed" : "released";
    if (blame === "failed") trace.getActiveSpan()?.addEvent("mcp.deployment.failed", { "error.type": e.status !== undefined ? String(e.status) : e.kind });
    return blame;
  }

  #end(
    dep: Deployment,
    ticket: BreakerTicket | undefined,
    permit: RatePermit | undefined,
    ctx: ModelCallContext,
    how: "succeeded" | "failed" | "released",
    usage?: { inputTokens: number; outputTokens: number },
  ): void {
    dep.inFlight--;
    if (how === "failed") dep.errors++;
    void permit?.settle(how === "succeeded" ? usage : undefined);
    if (ticket && dep.breaker) {
      this.state.caller = ctx;
      try {
        dep.breaker[how](ticket);
      } finally {
        this.state.caller = undefined;
      }
    }
    // A slot is free: the first waiter tries again.
    const first = this.#slotWaiters.values().next();
    if (!first.done) {
      this.#slotWaiters.delete(first.value);
      first.value();
    }
  }

  #slot(signal: AbortSignal): Promise<void> {
    return new Promise<void>((resolve, reject) => {
      const onAbort = () => {
        this.#slotWaiters.delete(wake);
        reject(signal.reason);
      };
      const wake = () => {
        signal.removeEventListener("abort", onAbort);
        resolve();
      };
      this.#slotWaiters.add(wake);
      signal.addEventListener("abort", onAbort, { once: true });
    });
  }
}

/** A rate permit that also gives a fleet-wide deployment slot back when settled. */
function withLease(permit: RatePermit | undefined, lease: SlotLease | undefined): RatePermit | undefined {
  if (!lease) return permit;
  return {
    settle: (usage) => {
      lease.release();
      return permit?.settle(usage);
    },
  };
}

/** The answer of a model that cannot stream, as a stream of one done event. */
async function* once(model: BaseModel, input: unknown, ctx: ModelCallContext): AsyncGenerator<ModelStreamEvent> {
  yield { type: "done", output: (await model.process(input, ctx)) as LlmOutput };
}
