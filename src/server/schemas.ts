/**
 * JSON Schemas of the HTTP bodies and replies (Fastify validates bodies with ajv and writes
 * replies with fast-json-stringify from these). Params schemas come from the Protocol
 * Handler's method table, so HTTP and JSON-RPC accept exactly the same things.
 */
import { RUN_PARAMS, TASK_PARAMS } from "../protocol/methods.js";

const error = {
  type: "object",
  properties: {
    error: {
      type: "object",
      properties: { code: { type: "string" }, message: { type: "string" }, details: {} },
      required: ["code", "message"],
    },
  },
  required: ["error"],
} as const;

/** Replies for every error status a route may send. */
export const ERROR_REPLIES = { "4xx": error, "5xx": error } as const;

const pipelineName = { type: "object", properties: { name: { type: "string", minLength: 1, maxLength: 200 } }, required: ["name"] } as const;
const runIdParams = { type: "object", properties: { id: { type: "string", minLength: 1, maxLength: 200 } }, required: ["id"] } as const;

const runSummary = {
  type: "object",
  additionalProperties: true,
  properties: {
    runId: { type: "string" },
    pipeline: { type: "string" },
    status: { type: "string" },
    startedAt: { type: "number" },
  },
  required: ["runId", "status"],
} as const;

export const RUN_ROUTE = {
  params: pipelineName,
  body: { type: ["object", "null"], properties: RUN_PARAMS, additionalProperties: false },
  response: {
    200: runSummary,
    202: { type: "object", properties: { runId: { type: "string" }, status: { type: "string" }, events: { type: "string" }, run: { type: "string" } }, required: ["runId"] },
    ...ERROR_REPLIES,
  },
} as const;

export const RUN_ID_ROUTE = { params: runIdParams, response: { 200: runSummary, ...ERROR_REPLIES } } as const;

const stepParams = {
  type: "object",
  properties: { id: { type: "string", minLength: 1, maxLength: 200 }, step: { type: "string", minLength: 1, maxLength: 200 } },
  required: ["id", "step"],
} as const;

/** POST /v1/runs/{id}/steps/{step}/approve: the answer (`input`) and `wait`. */
export const APPROVE_ROUTE = {
  params: stepParams,
  body: { type: ["object", "null"], properties: { input: {}, wait: { type: "boolean" } }, additionalProperties: false },
  response: { 200: runSummary, 202: runSummary, ...ERROR_REPLIES },
} as const;

/** POST /v1/runs/{id}/steps/{step}/reject: `reason` and `wait`. */
export const REJECT_ROUTE = {
  params: stepParams,
  body: { type: "object", properties: { reason: { type: "string", minLength: 1, maxLength: 10_000 }, wait: { type: "boolean" } }, required: ["reason"], additionalProperties: false },
  response: { 200: runSummary, 202: runSummary, ...ERROR_REPLIES },
} as const;

export const RUNS_ROUTE = {
  querystring: {
    type: "object",
    properties: { limit: { type: "integer", minimum: 1, maximum: 1000 }, pipeline: { type: "string", maxLength: 200 } },
    additionalProperties: false,
  },
  response: { 200: { type: "object", properties: { runs: { type: "array", items: runSummary } }, required: ["runs"] }, ...ERROR_REPLIES },
} as const;

export const EVENTS_ROUTE = {
  params: runIdParams,
  querystring: { type: "object", properties: { after: { type: "integer", minimum: 0 } }, additionalProperties: false },
  headers: { type: "object", properties: { "last-event-id": { type: "string", pattern: "^\\s*\\d{1,15}\\s*$" } } },
} as const;

export const PIPELINES_ROUTE = {
  response: {
    200: {
      type: "object",
      properties: {
        pipelines: {
          type: "array",
          items: {
            type: "object",
            additionalProperties: true,
            properties: { name: { type: "string" }, file: { type: "string" }, status: { type: "string" }, version: { type: "string" }, diagnostics: { type: "array" } },
            required: ["name", "status", "diagnostics"],
          },
        },
      },
      required: ["pipelines"],
    },
    ...ERROR_REPLIES,
  },
} as const;

export const TASK_ROUTE = {
  body: { type: "object", properties: TASK_PARAMS, required: ["input"], additionalProperties: false },
  response: { 200: { type: "object", additionalProperties: true, properties: { model: { type: "string" }, output: {} } }, ...ERROR_REPLIES },
} as const;

export const CONVERSATION_ROUTE = {
  params: { type: "object", properties: { id: { type: "string", minLength: 1, maxLength: 500 } }, required: ["id"] },
  response: { 200: { type: "object", additionalProperties: true, properties: { conversationId: { type: "string" } } }, ...ERROR_REPLIES },
} as const;
