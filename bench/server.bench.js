// HTTP server benchmark: `mcp serve` under load from autocannon on loopback, next to a bare
// node:http server that answers the same JSON (the limit of Node's HTTP stack here). All
// servers run in child processes of their own; autocannon runs in this one.
//
//   npm run bench            (all suites)      node bench/server.bench.js   (this one)
//   node bench/server.bench.js [--duration 8] [--connections 32] [--memory 100000]
//
// Scenarios, each `--duration` seconds after a 2 s warm-up:
//   bare       POST, a node:http server that reads the body and answers a fixed chat.completion JSON
//   fastify    the same on Fastify 5 with nothing else (no logger, hooks, plugins or schemas): the
//              floor of any Fastify server here
//   stack      the same with what (a) must do by issue 12, on the libraries it names, and none of
//              the runner's code: body and reply schemas, a bearer key compared in constant time,
//              @fastify/rate-limit per key, prom-client's request counter and histogram, one pino
//              line per request. (a) vs this line is the runner's own cost (registry, cache hit).
//   (a) chat   POST /v1/chat/completions on a mock model with `cache: true`: every call after the
//              first is a cache hit, so this is the server's own cost: routing, the bearer-key
//              check, the rate limiter, body schema, the Protocol Handler, the registry and its
//              cache lookup (the SQLite store; a hit needs no run), reply serialisation, metrics,
//              and one JSON log line per request (pino, to /dev/null).
//   (b) run    POST /v1/pipelines/three/runs with wait: true: a 3-step pipeline on a mock model
//              (no latency), journalled in SQLite (run, steps, every event) per request.
// Then memory: `--memory` requests of (a) in two halves; the server's peak RSS (sampled from
// /metrics every 250 ms) and its RSS after each half (growth between halves should be ~0).
//
// Target: (a) at least half of the bare server's throughput. Reported as met or unmet.
import { spawn } from "node:child_process";
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { parseArgs } from "node:util";
import autocannon from "autocannon";

const { values } = parseArgs({
  options: {
    duration: { type: "string", default: "8" },
    connections: { type: "string", default: "32" },
    memory: { type: "string", default: "100000" },
  },
});
const DURATION = Number(values.duration);
const CONNECTIONS = Number(values.connections);
const MEMORY_REQUESTS = Number(values.memory);
const ROOT = join(dirname(fileURLToPath(import.meta.url)), "..");
const KEY = "bench-key-0123456789";

const ANSWER = {
  id: "chatcmpl-0123456789abcdef01234567",
  object: "chat.completion",
  created: 1700000000,
  model: "fake",
  choices: [{ index: 0, message: { role: "assistant", content: "echo: hello" }, finish_reason: "stop" }],
  usage: { prompt_tokens: 1, completion_tokens: 3, total_tokens: 4 },
};

const BARE = `
const http = require("node:http");
const body = ${JSON.stringify(JSON.stringify(ANSWER))};
const s = http.createServer((req, res) => {
  const chunks = [];
  req.on("data", (c) => chunks.push(c));
  req.on("end", () => {
    JSON.parse(Buffer.concat(chunks).toString() || "{}");
    res.writeHead(200, { "content-type": "application/json; charset=utf-8", "content-length": Buffer.byteLength(body) });
    res.end(body);
  });
});
s.keepAliveTimeout = 5000;
s.listen(0, "127.0.0.1", () => process.stderr.write("listening on http://127.0.0.1:" + s.address().port + "\\n"));
`;

const FASTIFY = `
const app = require(${JSON.stringify(join(dirname(fileURLToPath(import.meta.url)), "..", "node_modules", "fastify"))})({ logger: false });
const answer = ${JSON.stringify(ANSWER)};
app.post("/v1/chat/completions", async () => answer);
app.listen({ port: 0, host: "127.0.0.1" }).then((a) => process.stderr.write("listening on " + a + "\\n"));
`;

/**
 * The floor of (a)'s features with the libraries issue 12 names, and none of the runner's
 * code: Fastify 5 with body and reply schemas, a bearer-key check in constant time,
 * @fastify/rate-limit per key, prom-client's request counter and duration histogram, and one
 * pino line per request (pino's own asynchronous destination), answering a constant JSON.
 */
const STACK = `
const nm = (m) => require(${JSON.stringify(join(dirname(fileURLToPath(import.meta.url)), "..", "node_modules"))} + "/" + m);
const { timingSafeEqual } = require("node:crypto");
const pino = nm("pino");
const prom = nm("prom-client");
const fastify = nm("fastify");
const app = fastify({ logger: { level: "info", stream: pino.destination({ dest: 1, sync: false }) }, logController: new fastify.LogController({ disableRequestLogging: true }) });
const answer = ${JSON.stringify(ANSWER)};
const key = Buffer.from("Bearer ${KEY}");
const registry = new prom.Registry();
const requests = new prom.Counter({ name: "http_requests_total", help: "requests", labelNames: ["method", "route", "status"], registers: [registry] });
const duration = new prom.Histogram({ name: "http_request_duration_seconds", help: "durations", labelNames: ["route"], registers: [registry] });
app.addHook("onRequest", (req, reply, done) => {
  const got = Buffer.from(req.headers.authorization ?? "");
  if (got.length !== key.length || !timingSafeEqual(got, key)) return reply.code(401).send({ error: "unauthorized" });
  req.principal = "bench";
  done();
});
app.register(nm("@fastify/rate-limit"), { global: true, max: 100000000, timeWindow: 60000, keyGenerator: (req) => req.principal ?? req.ip }).then(() => {
  app.addHook("onResponse", (req, reply, done) => {
    const route = req.routeOptions.url ?? "unmatched";
    requests.inc({ method: req.method, route, status: String(reply.statusCode) });
    duration.observe({ route }, reply.elapsedTime / 1000);
    req.log.info({ method: req.method, route, status: reply.statusCode, ms: Math.round(reply.elapsedTime * 10) / 10, key: req.principal }, "request");
    done();
  });
  const str = { type: "string" }, int = { type: "integer" };
  app.post("/v1/chat/completions", {
    schema: {
      body: { type: "object", properties: { model: str, messages: { type: "array", items: { type: "object", properties: { role: str, content: str }, required: ["role"] }, minItems: 1 } }, required: ["model", "messages"] },
      response: { 200: { type: "object", properties: { id: str, object: str, created: int, model: str,
        choices: { type: "array", items: { type: "object", properties: { index: int, message: { type: "object", properties: { role: str, content: str } }, finish_reason: str } } },
        usage: { type: "object", properties: { prompt_tokens: int, completion_tokens: int, total_tokens: int } } } } },
    },
  }, async () => answer);
  return app.listen({ port: 0, host: "127.0.0.1" });
}).then((a) => process.stderr.write("listening on " + a + "\\n"));
`;

function project() {
  const dir = mkdtempSync(join(tmpdir(), "mcp-bench-server-"));
  mkdirSync(join(dir, "pipelines"));
  writeFileSync(
    join(dir, "mcp.yaml"),
    `version: 1
models:
  fake:
    provider: mock
    capabilities: [text-generation]
    cache: true
    options:
      reply: { text: "echo: hello" }
  plain:
    provider: mock
    capabilities: [echo]
    options:
      reply: { text: "ok" }
server:
  keys: [{ name: bench, key: ${KEY} }]
  rateLimit: { max: 100000000, window: 1m }
`,
  );
  writeFileSync(
    join(dir, "pipelines/three.yaml"),
    `version: 1
name: three
steps:
  a: { model: plain, input: { prompt: "\${{ $input.text }}" } }
  b: { model: plain, input: { prompt: "\${{ $steps.a.output.text }}" } }
  c: { model: plain, input: { prompt: "\${{ $steps.b.output.text }}" } }
output: "\${{ $steps.c.output.text }}"
`,
  );
  return dir;
}

/** Starts a child process and resolves with the URL it prints. */
function start(args, cwd) {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, args, { cwd, stdio: ["ignore", "ignore", "pipe"], env: { ...process.env, MCP_API_KEYS: "" } });
    let err = "";
    child.stderr.on("data", (d) => {
      err += d;
      const m = /listening on (http:\/\/\S+)/.exec(err);
      if (m) resolve({ child, url: m[1] });
    });
    child.on("exit", (code) => reject(new Error(`server exited (${code}): ${err}`)));
  });
}

function stop(child) {
  return new Promise((resolve) => {
    child.removeAllListeners("exit");
    child.once("exit", () => resolve());
    child.kill("SIGTERM");
  });
}

function load(url, opts) {
  return autocannon({ url, connections: CONNECTIONS, pipelining: 1, ...opts });
}

async function measure(name, url, request) {
  await load(url, { ...request, duration: 2 });
  const r = await load(url, { ...request, duration: DURATION });
  const bad = r.non2xx + r.errors + r.timeouts;
  return { name, rps: r.requests.average, p99: r.latency.p99, p50: r.latency.p50, bad, total: r.requests.total };
}

async function rss(url) {
  const res = await fetch(`${url}/metrics`, { headers: { authorization: `Bearer ${KEY}` } });
  const m = /^process_resident_memory_bytes (\S+)$/m.exec(await res.text());
  return m ? Number(m[1]) : NaN;
}

const post = (path, body) => ({ method: "POST", headers: { "content-type": "application/json", authorization: `Bearer ${KEY}` }, body: JSON.stringify(body), path });
const chat = post("/v1/chat/completions", { model: "fake", messages: [{ role: "user", content: "hello" }] });
const run = post("/v1/pipelines/three/runs", { input: { text: "hi" }, wait: true });

const dir = project();
const results = [];
try {
  const bare = await start(["-e", BARE], dir);
  try {
    results.push(await measure("bare node:http, same JSON", bare.url, { method: "POST", headers: { "content-type": "application/json" }, body: chat.body }));
  } finally {
    await stop(bare.child);
  }

  const fastify = await start(["-e", FASTIFY], dir);
  try {
    results.push(await measure("Fastify alone, same JSON", fastify.url + chat.path, chat));
  } finally {
    await stop(fastify.child);
  }

  const stack = await start(["-e", STACK], dir);
  try {
    results.push(await measure("Fastify + the issue's libraries", stack.url + chat.path, chat));
  } finally {
    await stop(stack.child);
  }

  const mcp = await start([join(ROOT, "bin/mcp.js"), "serve", "pipelines", "--port", "0", "--log-level", "info"], dir);
  try {
    results.push(await measure("(a) chat completion, cached", mcp.url + chat.path, chat));
    results.push(await measure("(b) 3-step pipeline, wait: true", mcp.url + run.path, run));

    // Memory over MEMORY_REQUESTS requests of (a), in two halves.
    let peak = 0;
    const sampler = setInterval(
      () =>
        void rss(mcp.url).then(
          (v) => (peak = Math.max(peak, v)),
          () => {},
        ),
      250,
    );
    const half = Math.floor(MEMORY_REQUESTS / 2);
    const before = await rss(mcp.url);
    const r1 = await load(mcp.url + chat.path, { ...chat, amount: half });
    const afterFirst = await rss(mcp.url);
    const r2 = await load(mcp.url + chat.path, { ...chat, amount: half });
    const afterSecond = await rss(mcp.url);
    clearInterval(sampler);
    peak = Math.max(peak, afterFirst, afterSecond);
    results.memory = { before, afterFirst, afterSecond, peak, requests: r1.requests.total + r2.requests.total, bad: r1.non2xx + r1.errors + r2.non2xx + r2.errors };
  } finally {
    await stop(mcp.child);
  }
} finally {
  rmSync(dir, { recursive: true, force: true });
}

const base = results[0].rps;
const mb = (b) => `${(b / 1024 / 1024).toFixed(1)} MB`;
console.log(`autocannon: ${CONNECTIONS} connections, ${DURATION}s per scenario after a 2s warm-up, loopback`);
console.log(`${"scenario".padEnd(34)} ${"req/s".padStart(9)} ${"p50 ms".padStart(7)} ${"p99 ms".padStart(7)} ${"vs bare".padStart(8)}  errors`);
for (const r of results) {
  console.log(`${r.name.padEnd(34)} ${Math.round(r.rps).toString().padStart(9)} ${String(r.p50).padStart(7)} ${String(r.p99).padStart(7)} ${(r.rps / base).toFixed(2).padStart(8)}  ${r.bad}`);
}
const a = results.find((r) => r.name.startsWith("(a)"));
const ratio = a.rps / base;
console.log(`target (a) >= 0.50 x bare: ${ratio >= 0.5 ? "met" : "NOT met"} (${ratio.toFixed(2)})`);
const m = results.memory;
if (m) {
  console.log(
    `memory over ${m.requests} chat requests (${m.bad} errors): RSS ${mb(m.before)} before, ${mb(m.afterFirst)} after the first half, ${mb(m.afterSecond)} after the second (growth ${mb(m.afterSecond - m.afterFirst)}); peak ${mb(m.peak)}`,
  );
}
