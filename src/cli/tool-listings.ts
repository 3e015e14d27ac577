/**
 * Listings of external MCP servers' tools, for checking tool steps' inputs at load time.
 * `mcp validate` lists every server a pipeline uses (starting or connecting to it) and keeps
 * the listing in the project's store, under the server's id and under its id and version;
 * `mcp validate` (offline by default) and `mcp run` only read what is kept; `mcp validate --list-tools` lists.
 */
import { warning, type Diagnostic } from "../diagnostics/diagnostic.js";
import type { CompiledPipeline } from "../compiler/types.js";
import type { ToolListing } from "../models/mcp-connection.js";
import type { McpServerConfig } from "../models/types.js";
import { openStore } from "../store/open-store.js";
import type { Store } from "../store/store.js";

/** Store key of a server's latest listing. */
export const listingKey = (serverId: string): string => `mcp-tools:${serverId}`;

/** The servers a pipeline's models use, by id. */
export function serversOf(pipeline: CompiledPipeline): Map<string, McpServerConfig> {
  const out = new Map<string, McpServerConfig>();
  for (const m of pipeline.models) if (m.mcpServer) out.set(m.mcpServer.id, m.mcpServer);
  return out;
}

export interface ListingOptions {
  /** List servers now (start or connect to them); false: only read the store. */
  online: boolean;
  env: NodeJS.ProcessEnv;
  /** Longest wait for one server's listing. @default 20000 */
  timeoutMs?: number;
}

/**
 * The listings of the servers a pipeline uses: listed now when online (and kept in the
 * store), else read from it. A server that cannot be listed is a warning, not an error: the
 * pipeline is not wrong because a server is down while validating.
 */
export async function toolListingsFor(pipeline: CompiledPipeline, opts: ListingOptions): Promise<{ listings: Map<string, ToolListing>; diagnostics: Diagnostic[] }> {
  const servers = serversOf(pipeline);
  const listings = new Map<string, ToolListing>();
  const diagnostics: Diagnostic[] = [];
  if (servers.size === 0) return { listings, diagnostics };
  let store: Store | undefined;
  try {
    store = await openStore(pipeline.settings);
  } catch {
    store = undefined; // no store (e.g. redis not available here): nothing cached
  }
  try {
    for (const server of servers.values()) {
      if (opts.online) {
        try {
          const listing = await listServer(server, opts);
          listings.set(server.id, listing);
          if (store) {
            const entry = { value: listing, createdAt: listing.listedAt };
            await store.cacheSet(listingKey(server.id), entry);
            await store.cacheSet(`${listingKey(server.id)}@${listing.serverVersion}`, entry);
          }
          continue;
        } catch (e) {
          diagnostics.push(warning("MCP423", `cannot list the tools of MCP server '${server.name}': ${(e as Error).message}; tool inputs checked against the last listing kept, if any`, undefined));
        }
      }
      const kept = await store?.cacheGet(listingKey(server.id));
      if (kept) listings.set(server.id, kept.value as ToolListing);
    }
  } finally {
    await store?.close();
  }
  return { listings, diagnostics };
}

async function listServer(server: McpServerConfig, opts: ListingOptions): Promise<ToolListing> {
  const { mcpConnection } = await import("../models/mcp-connection.js");
  const signal = AbortSignal.timeout(opts.timeoutMs ?? 20_000);
  const conn = mcpConnection(server, opts.env);
  const listing = conn.listTools(signal);
  // connect() itself takes no signal: race the whole listing against the timeout.
  return await Promise.race([
    listing,
    new Promise<never>((_, reject) => signal.addEventListener("abort", () => reject(new Error(`no listing within ${(opts.timeoutMs ?? 20_000) / 1000}s`)), { once: true })),
  ]);
}
