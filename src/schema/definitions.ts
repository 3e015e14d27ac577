/**
 * The JSON Schemas (draft 2020-12) of pipeline files and mcp.yaml (test files: test-schema.ts),
 * built from shared parts (schema-parts.ts) so each stays self-contained for editors (no
 * cross-file $ref to resolve offline).
 * `npm run schemas` writes them to schemas/*.schema.json; a test checks the files are current.
 */
import { DURATION_PATTERN } from "../util/duration.js";
import { bool, d, int, num, ref, strict, str, stringList, type Schema } from "./schema-parts.js";

export const SCHEMA_BASE = "https://mcp-runner.dev/schemas";
export const PROVIDERS = ["openai", "anthropic", "nlp", "http", "mock", "module", "mcp"] as const;

/** The definitions pipeline files and mcp.yaml share (test files take some too). */
export const defs: Record<string, Schema> = {
  duration: d('A duration: "500ms", "30s", "2m", "1h", or a number of milliseconds.', {
    anyOf: [
      { type: "string", pattern: DURATION_PATTERN },
      { type: "number", minimum: 0 },
    ],
  }),
  template: d("Any YAML value. A string that is exactly one ${{ expr }} becomes the JSONata expression's value; ${{ }} inside other text is interpolated.", {}),
  capabilities: d("Capabilities, e.g. text-generation, sentiment-analysis, entity-extraction.", {
    type: "array",
    items: { type: "string", minLength: 1 },
    uniqueItems: true,
  }),
  retry: strict("How a failed model call is retried before the fallback chain is tried.", {
    attempts: int("Total attempts on one model, the first included.", { minimum: 1, maximum: 100 }),
    backoff: d("Delay growth between attempts.", { enum: ["fixed", "linear", "exponential"] }),
    initialDelay: { $ref: "#/$defs/duration", description: "Delay before the second attempt." },
    maxDelay: { $ref: "#/$defs/duration", description: "Upper bound of any one delay." },
    jitter: bool("Randomise half of each delay so parallel retries do not stampede. Default true."),
  }),
  cache: d(
    "Cache identical model calls (same provider, model, options, capabilities and input): true, false, or { ttl }. A step's setting wins over its model's, a model's over mcp.yaml's. docs/state.md.",
    {
      anyOf: [
        { type: "boolean" },
        strict("Cache settings.", { ttl: { $ref: "#/$defs/duration", description: "How long an entry is served. Default: the model's, else mcp.yaml's, else until deleted." } }),
      ],
    },
  ),
  model: strict(
    "A model in the registry.",
    {
      provider: d("Which adapter runs the model.", { enum: [...PROVIDERS] }),
      description: str("What the model is for."),
      model: str("The provider's model name, e.g. gpt-4o-mini."),
      baseUrl: str("Base URL of the API, e.g. http://127.0.0.1:11434/v1 for a local Ollama."),
      url: str("Endpoint of an http model."),
      method: d("HTTP method of an http model.", { enum: ["POST", "PUT", "GET"] }),
      apiKeyEnv: str("Environment variable that holds the API key; keys are never written in files.", {
        pattern: "^[A-Za-z_][A-Za-z0-9_]*$",
      }),
      headers: d("Extra HTTP headers; values are templates.", {
        type: "object",
        additionalProperties: { type: "string" },
      }),
      request: { $ref: "#/$defs/template", description: "http: the request body, a template over $request." },
      response: { $ref: "#/$defs/template", description: "http: the output, a template over $response." },
      module: str("module: path of a .js, .mjs or .ts file exporting a BaseModel subclass or function."),
      server: str("mcp: the MCP server (a key of `mcpServers:`) whose tool this model calls."),
      tool: str("mcp: the name of the tool to call on that server; the step input is the tool's arguments."),
      export: str("module: the export to use. Default: default."),
      capabilities: ref("capabilities", "What the model can do; steps asking for capabilities get a model having all of them."),
      maxTokens: int("Context window in tokens; steps whose input is larger skip this model.", { minimum: 1 }),
      cost: strict("Price in USD per 1M tokens.", {
        input: num("USD per 1M input tokens.", { minimum: 0 }),
        output: num("USD per 1M output tokens.", { minimum: 0 }),
      }),
      latency: { $ref: "#/$defs/duration", description: "Typical latency, used by select: fastest and plans." },
      concurrency: int("Most calls in flight to this model at once.", { minimum: 1 }),
      fallback: stringList("Models tried in order after this one's retries are spent."),
      options: d("Provider options (temperature, mock replies, ...). Values are templates over $request.", {
        type: "object",
      }),
      timeout: { $ref: "#/$defs/duration", description: "Default timeout of one call." },
      connectTimeout: { $ref: "#/$defs/duration", description: "Timeout to open a connection." },
      stream: bool("Stream the response (openai, anthropic)."),
      cache: ref("cache", "Cache this model's calls: true, false, or { ttl }. Overrides mcp.yaml cache.enabled."),
      outputSchema: ref("outputSchema", "JSON Schema of this model's output; the compiler checks $steps.<id>.output.<path> references of steps using it. Built-in providers declare theirs."),
      deployments: d(
        "Replicas of this model (openai, anthropic, http): calls are balanced across them, a failing one is ejected by its circuit breaker and probed back; retries and fallbacks see one model. docs/gateway.md.",
        { type: "array", minItems: 1, items: { $ref: "#/$defs/deployment" } },
      ),
      balance: d("How calls are spread over the deployments. Default least-in-flight.", { enum: ["least-in-flight", "weighted", "round-robin"] }),
      breaker: ref("breaker", "The circuit breaker of each deployment: when it opens, for how long, how it is probed back."),
      limits: ref("limits", "Requests and tokens per minute for the whole model (all deployments together), held across the runs of the process."),
    },
    { required: ["provider"] },
  ),
  deployment: strict("One replica of a model: where it is reached and with which key. Unset fields are the model's (two deployments may differ only by their key).", {
    name: str("Name in metrics, events and `mcp models`. Default: the host and port of baseUrl (or url)."),
    baseUrl: str("Base URL of this replica, e.g. http://10.0.0.5:8000/v1."),
    url: str("http models: the endpoint of this replica."),
    apiKeyEnv: str("Environment variable holding this replica's API key. Default: the model's.", { pattern: "^[A-Za-z_][A-Za-z0-9_]*$" }),
    model: str("The provider's model name on this replica. Default: the model's."),
    weight: num("Share of the calls under balance: weighted (and the tie-break of least-in-flight). Default 1.", { exclusiveMinimum: 0 }),
    maxConcurrency: int("Most calls in flight to this replica; calls wait for a free replica when all are full.", { minimum: 1 }),
    limits: ref("limits", "Requests and tokens per minute of this replica."),
  }),
  breaker: strict("Circuit breaker thresholds: closed (calls flow), open (ejected for the cool-down), half-open (a few probe calls decide).", {
    failures: int("Consecutive failed calls (errors that are not the caller's: 5xx, 429, timeouts, refused connections) that open the breaker. Default 3.", { minimum: 1 }),
    cooldown: { $ref: "#/$defs/duration", description: "How long an open breaker keeps the deployment out before probing it. Default 10s." },
    probes: int("Calls let through at once while half-open; that many successes close the breaker, one failure opens it again. Default 1.", { minimum: 1 }),
  }),
  limits: strict("Rate limits over a sliding minute. A call that would pass one waits (a model.limit_wait run event says so) instead of failing.", {
    rpm: int("Requests per minute.", { minimum: 1 }),
    tpm: int("Tokens (input plus output) per minute.", { minimum: 1 }),
    inputTpm: int("Input tokens per minute.", { minimum: 1 }),
    outputTpm: int("Output tokens per minute (counted when each answer arrives).", { minimum: 1 }),
  }),
  task: strict("A named task type: capabilities and defaults a step gets by naming it in `task`.", {
    description: str("What the task does."),
    capabilities: ref("capabilities", "Capabilities a step of this task needs."),
    model: str("Model to use."),
    select: d("How a model is chosen among those with the capabilities.", { enum: ["first", "cheapest", "fastest"] }),
    input: { $ref: "#/$defs/template", description: "Default input template." },
    output: { $ref: "#/$defs/template", description: "Default output mapping." },
    retry: ref("retry", "Default retry policy of the task's steps."),
    timeout: { $ref: "#/$defs/duration", description: "Timeout of one attempt." },
    fallback: stringList("Fallback models."),
    cache: ref("cache", "Cache the task's model calls: true, false, or { ttl }."),
  }),
  defaults: strict("Defaults for every step.", {
    retry: ref("retry", "Retry policy of every step that sets none."),
    timeout: { $ref: "#/$defs/duration", description: "Timeout of one attempt." },
    onError: d("What a step failure does.", { enum: ["fail", "continue"] }),
    cache: ref("cache", "Cache every step's model calls: true, false, or { ttl }."),
  }),
  step: strict("One step of the pipeline: a model call, run when its dependencies are done.", {
    description: str("What the step does."),
    model: str("The model to use, by registry name."),
    capabilities: { $ref: "#/$defs/capabilities", description: "The registry picks a model having all of them." },
    task: str("A task type from mcp.yaml `tasks:`; implies capabilities and defaults."),
    select: d("How a model is chosen among those with the capabilities.", { enum: ["first", "cheapest", "fastest"] }),
    input: { $ref: "#/$defs/template", description: "The model input: a template over $input, $steps, $context, $item." },
    needs: d("Steps that must finish first (besides those referenced as $steps.<id>).", {
      anyOf: [{ type: "string" }, { type: "array", items: { type: "string" } }],
    }),
    when: d("JSONata condition; the step is skipped when false.", { type: ["string", "boolean"] }),
    forEach: str("JSONata expression giving an array; the step runs once per element ($item, $index)."),
    concurrency: int("Most forEach elements in flight at once.", { minimum: 1 }),
    retry: ref("retry", "How a failed model call is retried: { attempts, backoff, initialDelay, maxDelay, jitter }."),
    timeout: { $ref: "#/$defs/duration", description: "Timeout of one attempt." },
    fallback: stringList("Models tried after the chosen one fails."),
    cache: ref("cache", "Cache this step's model calls: true, false, or { ttl }."),
    onError: d("fail: stop the run; continue: record the error and go on.", { enum: ["fail", "continue"] }),
    output: { $ref: "#/$defs/template", description: "Mapping of the model's raw result ($result) to the step output." },
    appendToContext: d("Append this step's result to the conversation: true, or a template of the turn to append.", {}),
    approval: ref("approval", "Pause the run until a person approves (`mcp approve`) or rejects (`mcp reject`) this step; its output is the answer. A step with approval has no model."),
    outputSchema: ref("outputSchema", "JSON Schema of the step's output (after `output:`), over its model's; the compiler checks $steps.<id>.output.<path> references against it."),
  }),
  approval: strict(
    "A human approval: the run is journaled as waiting (`mcp run` exits 3) until `mcp approve RUN STEP [--input JSON]` or `mcp reject RUN STEP --reason TEXT`. docs/approval.md.",
    {
      prompt: { $ref: "#/$defs/template", description: "What the person is asked: a template over $input and $steps." },
      timeout: { $ref: "#/$defs/duration", description: 'How long the answer may take, e.g. "24h"; an answer after it fails the step (reason timeout). Default: no limit.' },
      schema: d("JSON Schema (draft 2020-12) of the answer given with `mcp approve --input`; a non-matching answer is refused.", { type: ["object", "boolean"] }),
    },
    { required: ["prompt"] },
  ),
  outputSchema: d("A JSON Schema (draft 2020-12) of an output.", { type: ["object", "boolean"] }),
  context: strict("The conversation this pipeline reads ($context.history, $context.summary) and appends to (appendToContext). Kept in the project's store. docs/state.md.", {
    conversation: str("Conversation id, usually a template such as ${{ $input.conversationId }}; `mcp run --conversation ID` overrides it."),
    maxHistory: int("Most turns kept in the store; older ones are deleted (or summarised, with compress).", { minimum: 1 }),
    maxTokens: int("Token budget of $context.history (summary included); the least relevant, then the oldest turns are left out.", { minimum: 1 }),
    recent: int("The last turns always included in $context.history. Default: all, or 4 when `relevant` is set.", { minimum: 0 }),
    relevant: int("Older turns also included: those most relevant (BM25) to the run input.", { minimum: 0 }),
    compress: strict("Summarise old turns into $context.summary instead of dropping them.", {
      threshold: int("Compress when the history has more turns than this (or than maxHistory).", { minimum: 1 }),
      keep: int("Newest turns kept verbatim after compression. Default: half the threshold.", { minimum: 0 }),
      model: str("Model (from models:) that writes the summary. Default: the nlp extractive summary, offline."),
    }),
  }),
  budget: strict("Limits of one run; it stops before a call that would pass them.", {
    maxCost: num("USD.", { minimum: 0 }),
    maxTokens: int("Input plus output tokens.", { minimum: 0 }),
  }),
  mcpServer: strict(
    "An external Model Context Protocol server whose tools steps can call (provider: mcp). Either a local command spoken to over stdio, or a Streamable HTTP URL. docs/mcp.md.",
    {
      description: str("What the server is for."),
      command: str("stdio: the program to start, e.g. npx or node. One process per server, started on first use and reused."),
      args: d("stdio: arguments of the command.", { type: "array", items: { type: "string" } }),
      env: d("stdio: names of environment variables passed to the server (besides PATH, HOME and the like); nothing else of the environment is.", {
        type: "array",
        items: { type: "string", pattern: "^[A-Za-z_][A-Za-z0-9_]*$" },
      }),
      cwd: str("stdio: working folder of the server, relative to the file defining it. Default: that file's folder."),
      url: str("Streamable HTTP: the server's endpoint, e.g. http://127.0.0.1:3001/mcp."),
      headers: d('HTTP: extra headers; values are templates over $env (names allow-listed in mcp.yaml env:), e.g. "Bearer ${{ $env.TOKEN }}".', {
        type: "object",
        additionalProperties: { type: "string" },
      }),
      timeout: { $ref: "#/$defs/duration", description: "Longest wait for one tool call without progress. Default 5m." },
    },
    {
      oneOf: [
        { required: ["command"], not: { required: ["url"] } },
        { required: ["url"], not: { required: ["command"] } },
      ],
    },
  ),
  mcpServers: d("External MCP servers by name, for models with provider: mcp.", {
    type: "object",
    additionalProperties: { $ref: "#/$defs/mcpServer" },
  }),
  models: d("Models by name.", {
    type: "object",
    additionalProperties: { $ref: "#/$defs/model" },
  }),
  tasks: d("Task types by name.", { type: "object", additionalProperties: { $ref: "#/$defs/task" } }),
};

export const pipelineSchema: Schema = {
  $schema: "https://json-schema.org/draft/2020-12/schema",
  $id: `${SCHEMA_BASE}/pipeline.schema.json`,
  title: "MCP pipeline",
  description: "A pipeline: models and a graph of steps. See docs/pipeline-format.md.",
  type: "object",
  additionalProperties: false,
  required: ["steps"],
  properties: {
    $schema: str("JSON Schema of this file, for editors."),
    version: d("File format version.", { const: 1 }),
    name: str("Pipeline name, unique in a folder. Default: the file name.", {
      pattern: "^[A-Za-z0-9][A-Za-z0-9._-]*$",
    }),
    description: str("What the pipeline does."),
    inputs: d("JSON Schema of the run input, checked before any step runs.", { type: "object" }),
    outputSchema: d("JSON Schema of the run's result (an object), published as the outputSchema of the pipeline's Model Context Protocol tool.", { type: "object" }),
    models: ref("models", "Models by name, merged over those of mcp.yaml (a model named in both is the pipeline's)."),
    tasks: ref("tasks", "Task types by name, merged over those of mcp.yaml."),
    mcpServers: ref("mcpServers", "External MCP servers by name, merged over those of mcp.yaml."),
    defaults: ref("defaults", "Defaults for every step of this pipeline, over those of mcp.yaml."),
    concurrency: int("Most model calls in flight in one run.", { minimum: 1 }),
    context: ref("context", "The conversation this pipeline reads ($context) and appends to."),
    budget: ref("budget", "Limits of one run: { maxCost, maxTokens }; it stops before a call that would pass them."),
    steps: d("The steps, by id (letters, digits, _; not starting with a digit).", {
      type: "object",
      minProperties: 1,
      additionalProperties: { $ref: "#/$defs/step" },
    }),
    output: { $ref: "#/$defs/template", description: "The run's result, a template over $input and $steps." },
  },
  $defs: defs,
};

export const configSchema: Schema = {
  $schema: "https://json-schema.org/draft/2020-12/schema",
  $id: `${SCHEMA_BASE}/config.schema.json`,
  title: "MCP project config (mcp.yaml)",
  description: "Project-wide models, tasks and settings, merged under every pipeline below this folder.",
  type: "object",
  additionalProperties: false,
  properties: {
    $schema: str("JSON Schema of this file, for editors."),
    version: d("File format version.", { const: 1 }),
    models: ref("models", "Models by name, available to every pipeline below this folder."),
    tasks: ref("tasks", "Task types by name: capabilities and defaults a step gets with `task:`."),
    mcpServers: ref("mcpServers", "External MCP servers by name, available to every pipeline below this folder."),
    defaults: ref("defaults", "Defaults for every step of every pipeline."),
    concurrency: int("Most model calls in flight in one run.", { minimum: 1 }),
    env: d("The only environment variables expressions may read, as $env.NAME.", {
      type: "array",
      items: { type: "string", pattern: "^[A-Za-z_][A-Za-z0-9_]*$" },
    }),
    apiKeys: strict(
      "Which environment variables models may use as API keys (apiKeyEnv), and which hosts those keys may be sent to. Pipelines that break it are refused by validate and run. docs/limits.md.",
      {
        env: d("The only variables `apiKeyEnv` may name. Default: any.", { type: "array", items: { type: "string", pattern: "^[A-Za-z_][A-Za-z0-9_]*$" } }),
        hosts: d("The only hosts a model with an `apiKeyEnv` may send requests to: a host name, an IP address, or *.domain for its subdomains. Default: any.", {
          type: "array",
          items: { type: "string", minLength: 1 },
        }),
      },
    ),
    store: d("Where the run journal, conversations and the response cache live: a redis:// URL, sqlite, memory, or an object. docs/state.md, docs/scale-out.md.", {
      anyOf: [
        str("redis://HOST:PORT (a store shared by a fleet of workers), sqlite or memory.", { pattern: "^(rediss?://.+|sqlite|memory)$" }),
        strict("Store settings.", {
          type: d("sqlite (default: an embedded file), memory (nothing kept after the process), or redis (shared; needs url).", { enum: ["sqlite", "memory", "redis"] }),
          path: str("SQLite file, relative to mcp.yaml. Default .mcp/state.db."),
          url: str("Redis URL, e.g. redis://127.0.0.1:6379."),
          redact: bool(
            "Keep prompts and answers out of the journal: run inputs and outputs, step outputs and the events' model inputs and outputs are stored as SHA-256 digests (token counts, costs and timings stay). Such runs cannot be resumed. Conversations and the response cache still keep text. Default false. docs/state.md.",
          ),
        }),
      ],
    }),
    cache: strict("Model response cache: identical calls are answered from the store. `mcp run --no-cache` turns it off.", {
      enabled: bool("Cache every model call unless a model or step says otherwise. Default false."),
      ttl: { $ref: "#/$defs/duration", description: "Default time to live; none: until deleted." },
    }),
    alerts: strict("Alerts: a webhook that gets a JSON POST when a deployment's circuit breaker opens or a run's spend passes a share of its budget. docs/gateway.md.", {
      webhook: str("URL that receives the alerts (POST, JSON), e.g. a Slack or Alertmanager relay.", { pattern: "^https?://" }),
      on: d("Which alerts are sent. Default: all.", { type: "array", items: { enum: ["breaker-open", "budget"] }, uniqueItems: true }),
      budgetThreshold: num("Share of a run's budget (maxCost or maxTokens) whose passing is alerted. Default 0.8.", { exclusiveMinimum: 0, maximum: 1 }),
    }),
    telemetry: strict("OpenTelemetry traces (no-op until an SDK is set up; OTEL_EXPORTER_OTLP_ENDPOINT). docs/gateway.md.", {
      captureContent: bool(
        "Put prompts and answers in the model-call spans (gen_ai.input.messages, gen_ai.output.messages). Default false: spans carry names, models, token counts and finish reasons only.",
      ),
    }),
    server: strict("Settings of `mcp serve`.", {
      host: str("Address to listen on. Default 127.0.0.1."),
      port: int("Port. Default 8080.", { minimum: 0, maximum: 65535 }),
      bodyLimit: d("Largest request body, e.g. 1mb.", { type: ["string", "integer"] }),
      keys: d("API keys (bearer tokens).", {
        type: "array",
        items: strict(
          "An API key.",
          {
            name: str("Name of the key's owner, used in logs and rate limits."),
            key: str("The key itself."),
            keyEnv: str("Environment variable holding the key."),
          },
          { required: ["name"] },
        ),
      }),
      rateLimit: strict("Per-key rate limit.", {
        max: int("Requests per window.", { minimum: 1 }),
        window: { $ref: "#/$defs/duration", description: "Window length." },
        tokensPerMinute: int("Model tokens per minute per key, for chat completions and tasks.", { minimum: 1 }),
      }),
      tls: strict(
        "Serve HTTPS with this certificate (else put a TLS proxy in front).",
        {
          certFile: str("PEM certificate file."),
          keyFile: str("PEM private key file."),
        },
        { required: ["certFile", "keyFile"] },
      ),
    }),
  },
  $defs: defs,
};
