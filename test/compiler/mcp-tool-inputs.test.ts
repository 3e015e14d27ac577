/**
 * Tool steps at load time: mcpServers resolution (MCP420), and the step input checked
 * against a listing of the server's tools (MCP421, MCP422), rendered as the CLI prints them.
 */
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { loadPipelineFile } from "../../src/compiler/load.js";
import type { ToolListing } from "../../src/models/mcp-connection.js";
import { headlines, load, rendered } from "../helpers/diagnostics.js";

const SERVERS = `version: 1
mcpServers:
  everything: { command: node, args: [server.js, stdio] }
models:
  sum: { provider: mcp, server: everything, tool: get-sum }
  echo: { provider: mcp, server: everything, tool: echo }
`;

/** A listing as server-everything gives it (two of its tools). */
function listing(serverId: string): ToolListing {
  return {
    serverId,
    serverName: "mcp-servers/everything",
    serverVersion: "2.0.0",
    listedAt: 0,
    tools: [
      { name: "echo", inputSchema: { $schema: "http://json-schema.org/draft-07/schema#", type: "object", properties: { message: { type: "string" } }, required: ["message"] } },
      {
        name: "get-sum",
        inputSchema: { type: "object", properties: { a: { type: "number" }, b: { type: "number" } }, required: ["a", "b"], additionalProperties: false },
      },
    ],
  };
}

function listings(text: string) {
  const first = load(text);
  const id = first.pipeline?.models.find((m) => m.mcpServer)?.mcpServer?.id;
  if (!id) throw new Error(`no mcp server in:\n${rendered(first)}`);
  return new Map([[id, listing(id)]]);
}

describe("MCP tool steps at load time", () => {
  it("MCP420: a model naming a server that mcpServers does not define", () => {
    const r = load(`${SERVERS}  other: { provider: mcp, server: everythin, tool: echo }
steps:
  a: { model: other, input: { message: hi } }
`);
    expect(rendered(r)).toBe(`p.yaml:7:35: error MCP420: unknown MCP server 'everythin' in model 'other' (did you mean 'everything'?)
    7 |   other: { provider: mcp, server: everythin, tool: echo }
                                          ~~~~~~~~~
  hint: mcpServers: everything`);
  });

  it("MCP420: a provider mcp model without a tool", () => {
    const r = load(`${SERVERS}  other: { provider: mcp, server: everything }
steps:
  a: { model: other }
`);
    expect(headlines(r)).toEqual(["p.yaml:7:3: error MCP420: model 'other' (provider mcp) needs tool"]);
  });

  it("MCP421: a literal argument of the wrong type, an argument the tool does not take, a missing required one", () => {
    const text = `${SERVERS}steps:
  add:
    model: sum
    input: { a: "two", c: 1 }
  say:
    model: echo
    input: { message: "\${{ $steps.add.output.text }}" }
`;
    const r = load(text, { toolListings: listings(text) });
    expect(headlines(r)).toEqual([
      "p.yaml:10:12: error MCP421: step 'add' input for tool 'get-sum' (model 'sum') lacks the required argument 'b'",
      "p.yaml:10:17: error MCP421: step 'add' input for tool 'get-sum' (model 'sum'): argument 'a' must be number",
      "p.yaml:10:24: error MCP421: step 'add' input for tool 'get-sum' (model 'sum'): the tool takes no argument 'c' (did you mean 'a'?)",
    ]);
  });

  it("accepts inputs computed by expressions, which only the server can check at run time", () => {
    const text = `${SERVERS}steps:
  add:
    model: sum
    input: { a: "\${{ $input.x }}", b: 2 }
  whole:
    model: sum
    input: "\${{ $input }}"
`;
    const r = load(text, { toolListings: listings(text) });
    expect(r.diagnostics).toEqual([]);
    expect(r.pipeline).toBeDefined();
  });

  it("MCP422: a tool the listed server does not have", () => {
    const text = `${SERVERS}  nope: { provider: mcp, server: everything, tool: echoo }
steps:
  a: { model: nope, input: { message: hi } }
`;
    const r = load(text, { toolListings: listings(text) });
    expect(rendered(r)).toBe(`p.yaml:9:28: error MCP422: server 'everything' (mcp-servers/everything 2.0.0) has no tool 'echoo' (model 'nope', step 'a') (did you mean 'echo'?)
    9 |   a: { model: nope, input: { message: hi } }
                                   ~~~~~~~~~~~~~~~
  hint: its tools: echo, get-sum`);
  });

  it("without a listing, tool inputs are not checked (mcp validate --offline before any listing)", () => {
    const r = load(`${SERVERS}steps:
  add: { model: sum, input: { a: "two" } }
`);
    expect(r.diagnostics).toEqual([]);
  });

  it("MCP204: a header of an HTTP server reading $env not allow-listed in mcp.yaml (it would be sent empty)", () => {
    const pipeline = `version: 1
mcpServers:
  search:
    url: http://127.0.0.1:9/mcp
    headers: { Authorization: "Bearer \${{ $env.SEARCH_TOKEN }}" }
models:
  find: { provider: mcp, server: search, tool: find }
steps:
  a: { model: find, input: { q: x } }
`;
    expect(rendered(load(pipeline))).toBe(`p.yaml:5:48: error MCP204: $env.SEARCH_TOKEN is not allowed
    5 |     headers: { Authorization: "Bearer \${{ $env.SEARCH_TOKEN }}" }
                                                       ~~~~~~~~~~~~
  hint: add 'SEARCH_TOKEN' to the env: list in mcp.yaml; headers see only allow-listed variables`);
    const dir = mkdtempSync(join(tmpdir(), "mcp-headers-"));
    try {
      writeFileSync(join(dir, "mcp.yaml"), "version: 1\nenv: [SEARCH_TOKEN]\n");
      writeFileSync(join(dir, "p.yaml"), pipeline);
      expect(loadPipelineFile(join(dir, "p.yaml")).diagnostics).toEqual([]);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
