/** For the `default` of an exhaustive switch: a compile error if a case is missed. */
export function unreachable(value: never): never {
  throw new Error(`Internal error: unexpected value ${JSON.stringify(value)}`);
}
