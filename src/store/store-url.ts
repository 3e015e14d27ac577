/** What kind of store a `store:` setting or `--store` value names, without loading a client. */

/** True for `redis://` and `rediss://` URLs. */
export function isRedisUrl(s: string | undefined): s is string {
  return typeof s === "string" && /^rediss?:\/\//.test(s);
}
