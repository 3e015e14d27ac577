/**
 * The process's pool of connections to external MCP servers, by server id. Kept apart from
 * the connection code (and the SDK it loads) so the CLI can close the pool at exit without
 * loading the SDK when no pipeline used a server.
 */

/** What the pool needs of a connection. */
export interface PooledConnection {
  close(): Promise<void>;
}

const pool = new Map<string, PooledConnection>();

/** The pooled connection for `id`, created with `make` on first use. */
export function pooled<T extends PooledConnection>(id: string, make: () => T): T {
  let c = pool.get(id) as T | undefined;
  if (!c) pool.set(id, (c = make()));
  return c;
}

/** Closes every pooled connection (stdio servers' processes end); at exit and in tests. */
export async function closeMcpConnections(): Promise<void> {
  const all = [...pool.values()];
  pool.clear();
  await Promise.all(all.map((c) => c.close().catch(() => {})));
}
