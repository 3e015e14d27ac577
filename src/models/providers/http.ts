/**
 * The `http` provider: any JSON-over-HTTP model endpoint. JSONata templates map the model
 * input (`$request`) to the request body and headers, and the parsed response body
 * (`$response`) to the output. docs/providers.md.
 *
 * @example
 * models:
 *   classifier:
 *     provider: http
 *     url: http://127.0.0.1:9000/classify
 *     request: { inputs: "${{ $request.text }}" }
 *     response: { label: "${{ $response[0].label }}", score: "${{ $response[0].score }}" }
 */
import { HTTP_OPTION_KEYS } from "../provider-facts.js";
import type { ModelCallContext } from "../base-model.js";
import { evaluateTemplate } from "../../expr/template.js";
import { readJson, send } from "../http-client.js";
import type { ModelConfig } from "../types.js";
import type { ProviderServices } from "./services.js";
import { parseUrl, RemoteModel } from "./remote-model.js";

/**
 * Keys an http model's `options` may have.
 * - `apiKeyHeader`: header that carries the key from apiKeyEnv. @default "authorization"
 * - `apiKeyPrefix`: text before the key. @default "Bearer " for authorization, else ""
 */
export { HTTP_OPTION_KEYS };

const METHODS = ["POST", "PUT", "GET"];

/** A model behind a JSON endpoint. */
export class HttpModel extends RemoteModel {
  readonly #url: URL;
  readonly #method: string;

  constructor(config: ModelConfig, services: ProviderServices) {
    super("http", config, services, HTTP_OPTION_KEYS);
    if (!config.url) throw new TypeError(`model '${config.name}': provider http needs \`url\`, the endpoint to call`);
    this.#url = parseUrl(config.url, "url", config);
    const method = (config.method ?? "POST").toUpperCase();
    if (!METHODS.includes(method)) throw new TypeError(`model '${config.name}': method must be one of ${METHODS.join(", ")}, received ${JSON.stringify(config.method)}`);
    this.#method = method;
  }

  /**
   * Sends the request template's value (default: the input itself) as the JSON body, or for
   * GET as query parameters, and returns the response template's value (default: the body).
   */
  async process(input: unknown, ctx: ModelCallContext): Promise<unknown> {
    const bindings = { request: input };
    const options = await this.options(input);
    const requestT = this.template("request");
    const payload = requestT ? await evaluateTemplate(requestT, bindings) : input;
    const key = this.apiKey();
    const headers: Record<string, string> = { accept: "application/json", ...(await this.headers(input)) };
    if (key !== undefined) {
      const header = typeof options.apiKeyHeader === "string" && options.apiKeyHeader ? options.apiKeyHeader.toLowerCase() : "authorization";
      const prefix = typeof options.apiKeyPrefix === "string" ? options.apiKeyPrefix : header === "authorization" ? "Bearer " : "";
      headers[header] = `${prefix}${key}`;
    }
    let url = this.#url;
    let body: string | undefined;
    if (this.#method === "GET") {
      url = withQuery(this.#url, payload);
    } else {
      headers["content-type"] ??= "application/json";
      body = JSON.stringify(payload ?? null);
    }
    const call = this.call(url, { method: this.#method, headers, ...(body !== undefined ? { body } : {}), signal: ctx.signal, stream: false, key });
    const res = await send(call);
    const response = await readJson(res, call);
    const responseT = this.template("response");
    return responseT ? evaluateTemplate(responseT, { request: input, response }) : response;
  }
}

/** GET: an object's fields become query parameters (arrays repeat, objects as JSON). */
function withQuery(base: URL, payload: unknown): URL {
  const url = new URL(base.href);
  if (!payload || typeof payload !== "object" || Array.isArray(payload)) return url;
  for (const [k, v] of Object.entries(payload)) {
    if (v === undefined || v === null) continue;
    for (const item of Array.isArray(v) ? v : [v]) url.searchParams.append(k, typeof item === "object" ? JSON.stringify(item) : String(item));
  }
  return url;
}

/** Factory for the provider table. */
export function createHttpModel(config: ModelConfig, services: ProviderServices): HttpModel {
  return new HttpModel(config, services);
}
