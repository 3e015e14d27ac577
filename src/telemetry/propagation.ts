/**
 * Trace context for outgoing calls: the W3C `traceparent` (and `tracestate`) of the active
 * span, for HTTP headers of the remote providers and the `_meta` of Model Context Protocol
 * tool calls. Does nothing until the user sets up an OpenTelemetry SDK (the global
 * propagator is a no-op until then), so it costs nothing when tracing is off.
 */
import { context, propagation } from "@opentelemetry/api";

/** The trace context headers of the active span (empty without an SDK or a span). */
export function traceHeaders(): Record<string, string> {
  const carrier: Record<string, string> = {};
  propagation.inject(context.active(), carrier);
  return carrier;
}

/** `headers` with the trace context added, or `headers` itself when there is none. */
export function withTraceHeaders(headers: Record<string, string>): Record<string, string> {
  const t = traceHeaders();
  for (const k in t) return { ...headers, ...t };
  return headers;
}
