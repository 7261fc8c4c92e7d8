// OTLP/HTTP's protobuf body for traces, `ExportTraceServiceRequest` (opentelemetry-proto
// `collector/trace/v1/trace_service.proto`, `trace/v1/trace.proto`), written by hand: the proxy needs one
// message and a few field types, and a protobuf runtime would cost a dependency and an allocation per field.
// The field numbers are the published ones; otlp.test.ts decodes what this writes with the OpenTelemetry
// project's own compiled definitions, as a collector does.
//
//   ExportTraceServiceRequest { repeated ResourceSpans resource_spans = 1 }
//   ResourceSpans { Resource resource = 1; repeated ScopeSpans scope_spans = 2 }
//   Resource      { repeated KeyValue attributes = 1 }
//   ScopeSpans    { InstrumentationScope scope = 1; repeated Span spans = 2 }
//   Span          { bytes trace_id = 1; bytes span_id = 2; bytes parent_span_id = 4; string name = 5;
//                   SpanKind kind = 6; fixed64 start_time_unix_nano = 7; fixed64 end_time_unix_nano = 8;
//                   repeated KeyValue attributes = 9; Status status = 15 }
//   Status        { string message = 2; StatusCode code = 3 }
//   KeyValue      { string key = 1; AnyValue value = 2 }
//   AnyValue      { string string_value = 1; bool bool_value = 2; int64 int_value = 3; double double_value = 4 }

/** An attribute value as OTLP carries it: strings, booleans, integers (int64) and doubles. */
export type AttributeValue = string | boolean | number;
export type Attributes = readonly (readonly [key: string, value: AttributeValue])[];

export const SPAN_KIND_SERVER = 2;
export const SPAN_KIND_CLIENT = 3;
export const STATUS_UNSET = 0;
export const STATUS_ERROR = 2;

/** One finished span, as the proxy records it. */
export interface SpanRecord {
  /** 32 lowercase hex digits. */
  traceId: string;
  /** 16 lowercase hex digits. */
  spanId: string;
  parentSpanId: string | null;
  name: string;
  kind: typeof SPAN_KIND_SERVER | typeof SPAN_KIND_CLIENT;
  startUnixNano: bigint;
  endUnixNano: bigint;
  attributes: Attributes;
  status: { code: typeof STATUS_UNSET | typeof STATUS_ERROR; message?: string };
}

// --- the wire format --------------------------------------------------------------------------------------

function varint(n: number | bigint): Buffer {
  let v = BigInt.asUintN(64, BigInt(n));
  const out: number[] = [];
  while (v > 0x7fn) {
    out.push(Number(v & 0x7fn) | 0x80);
    v >>= 7n;
  }
  out.push(Number(v));
  return Buffer.from(out);
}

/** A small varint without BigInt: tags and lengths. */
function uvarint(n: number): Buffer {
  const out: number[] = [];
  while (n > 0x7f) {
    out.push((n & 0x7f) | 0x80);
    n >>>= 7;
  }
  out.push(n);
  return Buffer.from(out);
}

const tag = (field: number, wire: number) => uvarint((field << 3) | wire);

function bytesField(field: number, value: Buffer): Buffer[] {
  return [tag(field, 2), uvarint(value.length), value];
}

function stringField(field: number, value: string): Buffer[] {
  return value === "" ? [] : bytesField(field, Buffer.from(value, "utf8"));
}

function messageField(field: number, parts: Buffer[]): Buffer[] {
  return bytesField(field, Buffer.concat(parts));
}

function fixed64Field(field: number, value: bigint): Buffer[] {
  const b = Buffer.allocUnsafe(8);
  b.writeBigUInt64LE(BigInt.asUintN(64, value));
  return [tag(field, 1), b];
}

function anyValue(v: AttributeValue): Buffer[] {
  if (typeof v === "string") return bytesField(1, Buffer.from(v, "utf8"));
  if (typeof v === "boolean") return [tag(2, 0), uvarint(v ? 1 : 0)];
  if (Number.isSafeInteger(v)) return [tag(3, 0), varint(v)];
  const b = Buffer.allocUnsafe(8);
  b.writeDoubleLE(v);
  return [tag(4, 1), b];
}

function keyValues(field: number, attrs: Attributes): Buffer[] {
  const out: Buffer[] = [];
  for (const [k, v] of attrs)
    out.push(...messageField(field, [...stringField(1, k), ...messageField(2, anyValue(v))]));
  return out;
}

function span(s: SpanRecord): Buffer[] {
  return [
    ...bytesField(1, Buffer.from(s.traceId, "hex")),
    ...bytesField(2, Buffer.from(s.spanId, "hex")),
    ...(s.parentSpanId === null ? [] : bytesField(4, Buffer.from(s.parentSpanId, "hex"))),
    ...stringField(5, s.name),
    tag(6, 0),
    uvarint(s.kind),
    ...fixed64Field(7, s.startUnixNano),
    ...fixed64Field(8, s.endUnixNano),
    ...keyValues(9, s.attributes),
    ...(s.status.code === STATUS_UNSET
      ? []
      : messageField(15, [...stringField(2, s.status.message ?? ""), tag(3, 0), uvarint(s.status.code)])),
  ];
}

/**
 * The body of one export: the proxy's resource (its workload, as `service.*` attributes), one scope (the
 * proxy), and `spans`.
 */
export function encodeExportTraceRequest(
  resource: Attributes,
  scope: { name: string; version: string },
  spans: readonly SpanRecord[],
): Buffer {
  const scopeSpans = messageField(2, [
    ...messageField(1, [...stringField(1, scope.name), ...stringField(2, scope.version)]),
    ...spans.flatMap((s) => messageField(2, span(s))),
  ]);
  const resourceSpans = messageField(1, [...messageField(1, keyValues(1, resource)), ...scopeSpans]);
  return Buffer.concat(resourceSpans);
}
