/** Argument parsing on node:util parseArgs, with usage errors a person can act on. */
import { parseArgs, type ParseArgsConfig } from "node:util";
import { didYouMean } from "../util/suggest.js";
import { UsageError } from "./io.js";

export type Options = NonNullable<ParseArgsConfig["options"]>;

export function parse(command: string, argv: string[], options: Options): { values: Record<string, string | boolean | (string | boolean)[] | undefined>; positionals: string[] } {
  const all = { ...options, help: { type: "boolean" as const, short: "h" }, debug: { type: "boolean" as const } };
  try {
    return parseArgs({ args: argv, options: all, allowPositionals: true, strict: true });
  } catch (e) {
    let msg = (e as Error).message.replace(/\. To specify a positional argument starting with a '-'.*$/s, "");
    // An unknown --flag gets a "did you mean", as an unknown command does.
    const unknown = /^Unknown option '--([^'=]+)'/.exec(msg);
    if (unknown) msg = `unknown option '--${unknown[1]}'${didYouMean(unknown[1]!, Object.keys(all)).replace(/'([^']+)'/, "'--$1'")}`;
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
