/** Argument parsing on node:util parseArgs, with usage errors a person can act on. */
import { parseArgs, type ParseArgsConfig } from "node:util";
import { UsageError } from "./io.js";

export type Options = NonNullable<ParseArgsConfig["options"]>;

export function parse(command: string, argv: string[], options: Options): { values: Record<string, string | boolean | (string | boolean)[] | undefined>; positionals: string[] } {
  try {
    return parseArgs({ args: argv, options: { ...options, help: { type: "boolean", short: "h" }, debug: { type: "boolean" } }, allowPositionals: true, strict: true });
  } catch (e) {
    const msg = (e as Error).message.replace(/\. To specify a positional argument starting with a '-'.*$/s, "");
    throw new UsageError(msg, command);
  }
}

export function oneOf<T extends string>(command: string, name: string, value: string | undefined, allowed: readonly T[], dflt: T): T {
  if (value === undefined) return dflt;
  if ((allowed as readonly string[]).includes(value)) return value as T;
  throw new UsageError(`--${name} must be one of ${allowed.join(", ")}; got '${value}'`, command);
}

export function positiveInt(command: string, name: string, value: string | undefined): number | undefined {
  if (value === undefined) return undefined;
  const n = Number(value);
  if (!Number.isInteger(n) || n < 1) throw new UsageError(`--${name} must be a positive integer; got '${value}'`, command);
  return n;
}
