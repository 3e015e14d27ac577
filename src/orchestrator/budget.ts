/**
 * The pipeline's budget (`budget: { maxCost, maxTokens }`): what the run has spent, and what
 * the calls in flight are expected to spend. A call is refused before it starts when the
 * spent amount, the reservations of the calls in flight and its own estimate together would
 * pass a limit; its reservation is released when it ends, and what it really cost is spent.
 */
import type { CompiledStep } from "../compiler/types.js";
import type { BudgetAmount, BudgetLedger } from "../events/ports.js";
import type { ModelConfig, Usage } from "../models/types.js";
import type { ModelRegistry } from "../registry/model-registry.js";
import { countTokens } from "../util/tokens.js";
import { StepError } from "./step-errors.js";

/** What one call in flight is expected to spend (and its id in a shared ledger). */
export interface Reservation {
  cost: number;
  tokens: number;
  id?: string;
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
  /** A shared ledger (the queue's, in Redis): the spent and reserved amounts live there. */
  readonly #ledger: BudgetLedger | undefined;

  constructor(limits: BudgetLimits, registry: Pick<ModelRegistry, "cost">, ledger?: BudgetLedger) {
    this.#limits = limits;
    this.#registry = registry;
    this.#ledger = ledger;
  }

  /** Spent so far (finished calls). */
  get spent(): Readonly<{ cost: number; tokens: number }> {
    return this.#spent;
  }

  /** Reserved by the calls in flight. */
  get reserved(): Readonly<{ cost: number; tokens: number }> {
    return this.#reserved;
  }

  /**
   * Stops before a call that would pass the budget (StepError budget-exceeded); returns the
   * reservation made. `registry` prices the call: the calling run's, which for a nested run
   * (a sub-pipeline sharing its parent's budget) holds the child's own models.
   */
  async reserve(step: Pick<CompiledStep, "id">, config: ModelConfig, input: unknown, registry: Pick<ModelRegistry, "cost"> = this.#registry): Promise<Reservation | undefined> {
    const { maxCost, maxTokens } = this.#limits;
    if (maxCost === undefined && maxTokens === undefined) return undefined;
    const inTok = await countTokens(input);
    const explicitMax = Number((input as { maxTokens?: unknown })?.maxTokens ?? (config.options as { maxTokens?: unknown } | undefined)?.maxTokens);
    const avg = this.#avgOutput.get(config.name);
    const outTok = Number.isFinite(explicitMax) ? explicitMax : avg ? Math.round(avg.sum / avg.n) : 0;
    const tokens = inTok + outTok;
    const cost = registry.cost(config.name, inTok, outTok);
    const fmt = (x: number) => `$${x.toFixed(6).replace(/0+$/, "").replace(/\.$/, "")}`;
    if (this.#ledger) {
      const r = await this.#ledger.reserve({ cost, tokens }, this.#limits);
      if (r.ok) return { cost, tokens, id: r.id };
      throw this.#exceeded(step, config, r.over, { cost, tokens }, r.spent, fmt);
    }
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

  #exceeded(step: Pick<CompiledStep, "id">, config: ModelConfig, over: "cost" | "tokens", need: BudgetAmount, spent: BudgetAmount, fmt: (x: number) => string): StepError {
    const { maxCost, maxTokens } = this.#limits;
    return over === "cost"
      ? new StepError(
          "budget-exceeded",
          `budget exceeded: the call of step '${step.id}' on '${config.name}' (about ${need.tokens} tokens, ${fmt(need.cost)}) would pass maxCost ${fmt(maxCost ?? 0)} (spent ${fmt(spent.cost)} by the run's workers)`,
          step.id,
        )
      : new StepError(
          "budget-exceeded",
          `budget exceeded: the call of step '${step.id}' on '${config.name}' (about ${need.tokens} tokens) would pass maxTokens ${maxTokens ?? 0} (spent ${spent.tokens} by the run's workers)`,
          step.id,
        );
  }

  /** Ends a call's reservation (it finished or failed). */
  release(r: Reservation | undefined): void {
    if (!r) return;
    if (this.#ledger) {
      if (r.id !== undefined) this.#ledger.release(r.id);
      return;
    }
    this.#reserved.cost -= r.cost;
    this.#reserved.tokens -= r.tokens;
  }

  /** Counts what a finished call spent. */
  spend(model: string, usage: Usage, cost: number): void {
    this.#spent.cost += cost;
    this.#spent.tokens += usage.inputTokens + usage.outputTokens;
    this.#ledger?.spend({ cost, tokens: usage.inputTokens + usage.outputTokens });
    const a = this.#avgOutput.get(model) ?? { n: 0, sum: 0 };
    a.n++;
    a.sum += usage.outputTokens;
    this.#avgOutput.set(model, a);
  }
}
