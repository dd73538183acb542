/**
 * `protocache/otel`: the OpenTelemetry adapter of protocache's metrics
 * sink. `@opentelemetry/api` is an optional peer dependency, used for
 * types only: this entry point calls the `Meter` you pass it.
 * @packageDocumentation
 */
export { openTelemetryMetrics, type OpenTelemetryMetricsOptions } from "../metrics/otel-sink.js";
