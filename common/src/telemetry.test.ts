import { ROOT_CONTEXT, context, trace } from '@opentelemetry/api';
import { describe, expect, it } from 'vitest';
import { injectTraceContext, startTracing, tracingEnabled, tracingSettings } from './telemetry.js';

describe('tracingSettings', () => {
  it('is off unless the OpenTelemetry variables ask for traces', () => {
    expect(tracingSettings({})).toEqual({ enabled: false });
    expect(tracingSettings({ OTEL_SERVICE_NAME: 'gateway', OTEL_EXPORTER_OTLP_PROTOCOL: 'http/json' })).toEqual({ enabled: false });
    expect(tracingSettings({ OTEL_EXPORTER_OTLP_ENDPOINT: 'http://jaeger:4318', OTEL_SDK_DISABLED: 'true' })).toEqual({ enabled: false });
    expect(tracingSettings({ OTEL_EXPORTER_OTLP_ENDPOINT: 'http://jaeger:4318', OTEL_TRACES_EXPORTER: 'none' })).toEqual({ enabled: false });
  });

  it('exports to the endpoint the variables name, by the protocol they name (http/protobuf by default)', () => {
    expect(tracingSettings({ OTEL_EXPORTER_OTLP_ENDPOINT: 'http://jaeger:4318/' })).toEqual({
      enabled: true,
      url: 'http://jaeger:4318/v1/traces',
      protocol: 'http/protobuf',
    });
    expect(
      tracingSettings({
        OTEL_EXPORTER_OTLP_ENDPOINT: 'http://ignored:4318',
        OTEL_EXPORTER_OTLP_TRACES_ENDPOINT: 'https://collector.example/otlp/traces',
        OTEL_EXPORTER_OTLP_PROTOCOL: 'http/json',
      }),
    ).toEqual({ enabled: true, url: 'https://collector.example/otlp/traces', protocol: 'http/json' });
    // OTEL_TRACES_EXPORTER=otlp alone: the exporter's default endpoint (localhost:4318).
    expect(tracingSettings({ OTEL_TRACES_EXPORTER: 'otlp' })).toEqual({ enabled: true, url: undefined, protocol: 'http/protobuf' });
  });

  it('refuses what it cannot do, every problem in one error', () => {
    expect(() => tracingSettings({ OTEL_TRACES_EXPORTER: 'zipkin', OTEL_EXPORTER_OTLP_ENDPOINT: 'jaeger:4318', OTEL_EXPORTER_OTLP_PROTOCOL: 'grpc' })).toThrow(
      'tracing: OTEL_TRACES_EXPORTER must be otlp or none (the only exporter built in), got "zipkin"; ' +
        'OTEL_EXPORTER_OTLP_ENDPOINT must be an http(s) URL, got "jaeger:4318"; ' +
        'OTEL_EXPORTER_OTLP_PROTOCOL must be http/protobuf or http/json (grpc is not built in), got "grpc"',
    );
  });
});

describe('startTracing, off (the default)', () => {
  it('registers nothing: no provider, no context manager, no trace context on a call', async () => {
    const tracing = await startTracing({ serviceName: 'gateway', env: {}, global: true });
    expect(tracing.enabled).toBe(false);
    expect(tracing.tracer).toBeUndefined();
    expect(tracingEnabled()).toBe(false);
    // Apollo Gateway's spans (the global tracer's) record nothing and go nowhere.
    const span = trace.getTracer('@apollo/gateway').startSpan('gateway.request');
    expect(span.isRecording()).toBe(false);
    // Even inside a sampled span's context, nothing is active and nothing is injected.
    const sampled = trace.wrapSpanContext({ traceId: '4bf92f3577b34da6a3ce929d0e0e4736', spanId: '00f067aa0ba902b7', traceFlags: 1 });
    const headers: Record<string, string> = { 'content-type': 'application/json' };
    context.with(trace.setSpan(ROOT_CONTEXT, sampled), () => {
      expect(context.active()).toBe(ROOT_CONTEXT);
      injectTraceContext(headers);
    });
    expect(headers).toEqual({ 'content-type': 'application/json' });
    await tracing.shutdown();
  });
});
