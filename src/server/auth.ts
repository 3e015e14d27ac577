/**
 * Bearer API keys. A request names its key in `Authorization: Bearer <key>` only (never in
 * the query string, where proxies and logs would keep it). Keys are compared in constant
 * time: each candidate is hashed (so lengths do not leak either) and every configured key
 * is compared, whichever matches.
 */
import { hash, timingSafeEqual } from "node:crypto";
import type { Principal } from "../protocol/services.js";
import type { ApiKey } from "./settings.js";

const digest = (s: string): Buffer => hash("sha256", s, "buffer");

/** What checking a request's Authorization header found. */
export type AuthOutcome = { ok: true; principal: Principal } | { ok: false; reason: "missing" | "malformed" | "wrong" };

export class KeyRing {
  readonly #keys: { name: string; digest: Buffer }[];

  constructor(keys: readonly ApiKey[]) {
    this.#keys = keys.map((k) => ({ name: k.name, digest: digest(k.key) }));
  }

  /** No keys: the server is open (loopback only, settings.ts enforces it). */
  get open(): boolean {
    return this.#keys.length === 0;
  }

  /** Checks an Authorization header value. */
  check(header: string | undefined): AuthOutcome {
    if (this.open) return { ok: true, principal: { name: "anonymous" } };
    if (header === undefined || header === "") return { ok: false, reason: "missing" };
    const m = /^Bearer +([\x21-\x7e]+) *$/i.exec(header);
    if (!m) return { ok: false, reason: "malformed" };
    const d = digest(m[1]!);
    let found: string | undefined;
    for (const k of this.#keys) if (timingSafeEqual(k.digest, d) && found === undefined) found = k.name;
    return found !== undefined ? { ok: true, principal: { name: found } } : { ok: false, reason: "wrong" };
  }
}

/** The message of a refused request, per reason (never echoing what was sent). */
export function authMessage(reason: "missing" | "malformed" | "wrong"): string {
  switch (reason) {
    case "missing":
      return "an API key is required: send 'Authorization: Bearer <key>'";
    case "malformed":
      return "the Authorization header must be 'Bearer <key>'";
    case "wrong":
      return "the API key is not valid";
  }
}
