/**
 * The pipeline's budget (`budget: { maxCost, maxTokens }`): what the run has spent, and what
 * the calls in flight are expected to spend. A call is refused before it starts when the
 * spent amount, the reservations of the calls in flight and its own estimate together would
 * pass a limit; its reservation is released when it ends, and what it really cost is spent.
 */
import type { CompiledStep } from "../compiler/types.js";
import type { ModelConfig, Usage } from "../models/types.js";
import type { ModelRegistry } from "../registry/model-registry.js";
import { countTokens } from "../util/tokens.js";
import { StepError } from "./step-errors.js";

/** What one call in flight is expected to spend. */
export interface Reservation {
  cost: number;
  tokens: number;
}

export interface BudgetLimits {
  maxCost?: number;
  maxTokens?: number;
}

export class RunBudget {
  readonly #limits: BudgetLimits;
  readonly #registry: Pick<ModelRegistry, "cost">;
  readonly #spent = { cost: 0, tokens: 0 };
  readonly #reserved = { cost: 0, tokens: 0 };
  /** Output tokens per call, averaged per model: the estimate for a call without maxTokens. */
  readonly #avgOutput = new Map<string, { n: number; sum: number }>();

  constructor(limits: BudgetLimits, registry: Pick<ModelRegistry, "cost">) {
    this.#limits = limits;
    this.#registry = registry;
  }

  /** Spent so far (finished calls). */
  get spent(): Readonly<{ cost: number; tokens: number }> {
    return this.#spent;
  }

  /** Reserved by the calls in flight. */
  get reserved(): Readonly<{ cost: number; tokens: number }> {
    return this.#reserved;
  }

  /** Stops before a call that would pass the budget (StepError budget-exceeded); returns the reservation made. */
  async reserve(step: Pick<CompiledStep, "id">, config: ModelConfig, input: unknown): Promise<Reservation | undefined> {
    const { maxCost, maxTokens } = this.#limits;
    if (maxCost === undefined && maxTokens === undefined) return undefined;
    const inTok = await countTokens(input);
    const explicitMax = Number((input as { maxTokens?: unknown })?.maxTokens ?? (config.options as { maxTokens?: unknown } | undefined)?.maxTokens);
    const avg = this.#avgOutput.get(config.name);
    const outTok = Number.isFinite(explicitMax) ? explicitMax : avg ? Math.round(avg.sum / avg.n) : 0;
    const tokens = inTok + outTok;
    const cost = this.#registry.cost(config.name, inTok, outTok);
    const fmt = (x: number) => `$${x.toFixed(6).replace(/0+$/, "").replace(/\.$/, "")}`;
    if (maxCost !== undefined && this.#spent.cost + this.#reserved.cost + cost > maxCost) {
      throw new StepError(
        "budget-exceeded",
        `budget exceeded: the call of step '${step.id}' on '${config.name}' (about ${tokens} tokens, ${fmt(cost)}) would pass maxCost ${fmt(maxCost)} (spent ${fmt(this.#spent.cost)})`,
        step.id,
      );
    }
    if (maxTokens !== undefined && this.#spent.tokens + this.#reserved.tokens + tokens > maxTokens) {
      throw new StepError(
        "budget-exceeded",
        `budget exceeded: the call of step '${step.id}' on '${config.name}' (about ${tokens} tokens) would pass maxTokens ${maxTokens} (spent ${this.#spent.tokens})`,
        step.id,
      );
    }
    this.#reserved.cost += cost;
    this.#reserved.tokens += tokens;
    return { cost, tokens };
  }

  /** Ends a call's reservation (it finished or failed). */
  release(r: Reservation | undefined): void {
    if (!r) return;
    this.#reserved.cost -= r.cost;
    this.#reserved.tokens -= r.tokens;
  }

  /** Counts what a finished call spent. */
  spend(model: string, usage: Usage, cost: number): void {
    this.#spent.cost += cost;
    this.#spent.tokens += usage.inputTokens + usage.outputTokens;
    const a = this.#avgOutput.get(model) ?? { n: 0, sum: 0 };
    a.n++;
    a.sum += usage.outputTokens;
    this.#avgOutput.set(model, a);
  }
}
