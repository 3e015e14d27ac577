/** Calling a provider's model directly in its tests. */
import { expect } from "vitest";
import { ModelError } from "../../src/models/errors.js";

/** What process() and stream() get besides the input: a signal (a fresh one by default). */
export const ctx = (signal = new AbortController().signal) => ({ signal, runId: "r1", stepId: "s1", attempt: 1 });

/** The ModelError the call rejects with (fails the test if it resolves or rejects with anything else). */
export async function failure(p: Promise<unknown>): Promise<ModelError> {
  const e = await p.then(
    () => undefined,
    (err: unknown) => err,
  );
  expect(e).toBeInstanceOf(ModelError);
  return e as ModelError;
}
