// OTLP/HTTP's protobuf body for traces, `ExportTraceServiceRequest` (opentelemetry-proto
// `collector/trace/v1/trace_service.proto`, `trace/v1/trace.proto`), by hand, both ways: the proxy writes it
// (one message, a few field types: a protobuf runtime would cost a dependency and an allocation per field),
// the control plane reads it from proxies and apps. One file, so the field numbers are written down once.
// The numbers are the published ones; tests decode what this writes, and encode what this reads, with the
// OpenTelemetry project's own compiled definitions, as a collector and an SDK do.
// Node only (Buffer): imported as `@trellis/contracts/otlp`, never by the console's browser code.
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
//   AnyValue      { string string_value = 1; bool bool_value = 2; int64 int_value = 3; double double_value = 4;
//                   ArrayValue array_value = 5; KeyValueList kvlist_value = 6; bytes bytes_value = 7 }
// The decoder also reads what SDKs send and the proxy does not: `trace_state = 3`, `events = 11`
// (Event { fixed64 time_unix_nano = 1; string name = 2; repeated KeyValue attributes = 3 }), `flags = 16`.

/** An attribute value as OTLP carries it: strings, booleans, integers (int64) and doubles. */
export type AttributeValue = string | boolean | number;
export type Attributes = readonly (readonly [
  key: string,
  value: AttributeValue | readonly AttributeValue[],
])[];

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
  /** SpanKind (the proxy writes server and client spans; the control plane forwards apps' of any kind). */
  kind: number;
  startUnixNano: bigint;
  endUnixNano: bigint;
  attributes: Attributes;
  /** OTLP StatusCode: 0 unset, 1 ok, 2 error. */
  status: { code: number; message?: string };
  events?: readonly { name: string; timeUnixNano: bigint; attributes: Attributes }[];
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

// The request body is written in two passes: sizes first (arithmetic and utf8 lengths), then the bytes into
// one buffer of exactly that size. Building it from a Buffer per field and concatenating cost ~50 µs a span
// (27 ms for a batch of 512, all of it on the proxy's event loop); this takes about a fifth of that (4.8 ms).
// The Buffer-per-field helpers above write only the small answers (encodeExportTraceResponse, encodeRpcStatus).

const utf8 = (s: string) => Buffer.byteLength(s, "utf8");

/** Bytes of a varint of a non-negative safe integer. */
function vlen(n: number): number {
  let len = 1;
  while (n >= 128) {
    n = Math.floor(n / 128);
    len++;
  }
  return len;
}

/** A length-delimited field of `n` bytes (every field number here is below 16: a one-byte tag). */
const ld = (n: number) => 1 + vlen(n) + n;

type Value = AttributeValue | readonly AttributeValue[];

function anyLen(v: Value): number {
  if (typeof v === "object") {
    let inner = 0;
    for (const item of v) inner += ld(anyLen(item));
    return ld(inner);
  }
  if (typeof v === "string") return ld(utf8(v));
  if (typeof v === "boolean") return 2;
  if (Number.isSafeInteger(v)) return 1 + (v < 0 ? 10 : vlen(v));
  return 9;
}

const kvLen = (k: string, v: Value) => (k === "" ? 0 : ld(utf8(k))) + ld(anyLen(v));

function attrsLen(attrs: Attributes): number {
  let n = 0;
  for (const [k, v] of attrs) n += ld(kvLen(k, v));
  return n;
}

const optStr = (s: string) => (s === "" ? 0 : ld(utf8(s)));

function statusLen(s: SpanRecord["status"]): number {
  return optStr(s.message ?? "") + 1 + vlen(s.code);
}

function eventLen(e: NonNullable<SpanRecord["events"]>[number]): number {
  return 9 + optStr(e.name) + attrsLen(e.attributes);
}

function spanLen(s: SpanRecord): number {
  let n = ld(s.traceId.length >>> 1) + ld(s.spanId.length >>> 1);
  if (s.parentSpanId !== null) n += ld(s.parentSpanId.length >>> 1);
  n += optStr(s.name) + 1 + vlen(s.kind) + 9 + 9 + attrsLen(s.attributes);
  for (const e of s.events ?? []) n += ld(eventLen(e));
  if (s.status.code !== STATUS_UNSET) n += ld(statusLen(s.status));
  return n;
}

class Writer {
  pos = 0;
  constructor(readonly buf: Buffer) {}
  tag(field: number, wire: number): void {
    this.buf[this.pos++] = (field << 3) | wire;
  }
  uv(n: number): void {
    while (n >= 128) {
      this.buf[this.pos++] = (n % 128) | 128;
      n = Math.floor(n / 128);
    }
    this.buf[this.pos++] = n;
  }
  int64(n: number): void {
    if (n >= 0) return this.uv(n);
    let v = BigInt.asUintN(64, BigInt(n));
    while (v > 0x7fn) {
      this.buf[this.pos++] = Number(v & 0x7fn) | 0x80;
      v >>= 7n;
    }
    this.buf[this.pos++] = Number(v);
  }
  /** A length-delimited field's tag and length. */
  open(field: number, len: number): void {
    this.tag(field, 2);
    this.uv(len);
  }
  str(field: number, s: string): void {
    this.open(field, utf8(s));
    this.pos += this.buf.write(s, this.pos, "utf8");
  }
  optStr(field: number, s: string): void {
    if (s !== "") this.str(field, s);
  }
  hex(field: number, h: string): void {
    this.open(field, h.length >>> 1);
    this.pos += this.buf.write(h, this.pos, "hex");
  }
  fixed64(field: number, v: bigint): void {
    this.tag(field, 1);
    this.buf.writeBigUInt64LE(BigInt.asUintN(64, v), this.pos);
    this.pos += 8;
  }
  any(v: Value): void {
    if (typeof v === "object") {
      let inner = 0;
      for (const item of v) inner += ld(anyLen(item));
      this.open(5, inner);
      for (const item of v) {
        this.open(1, anyLen(item));
        this.any(item);
      }
    } else if (typeof v === "string") this.str(1, v);
    else if (typeof v === "boolean") {
      this.tag(2, 0);
      this.buf[this.pos++] = v ? 1 : 0;
    } else if (Number.isSafeInteger(v)) {
      this.tag(3, 0);
      this.int64(v);
    } else {
      this.tag(4, 1);
      this.buf.writeDoubleLE(v, this.pos);
      this.pos += 8;
    }
  }
  attrs(field: number, attrs: Attributes): void {
    for (const [k, v] of attrs) {
      this.open(field, kvLen(k, v));
      this.optStr(1, k);
      this.open(2, anyLen(v));
      this.any(v);
    }
  }
  span(s: SpanRecord): void {
    this.hex(1, s.traceId);
    this.hex(2, s.spanId);
    if (s.parentSpanId !== null) this.hex(4, s.parentSpanId);
    this.optStr(5, s.name);
    this.tag(6, 0);
    this.uv(s.kind);
    this.fixed64(7, s.startUnixNano);
    this.fixed64(8, s.endUnixNano);
    this.attrs(9, s.attributes);
    for (const e of s.events ?? []) {
      this.open(11, eventLen(e));
      this.fixed64(1, e.timeUnixNano);
      this.optStr(2, e.name);
      this.attrs(3, e.attributes);
    }
    if (s.status.code !== STATUS_UNSET) {
      this.open(15, statusLen(s.status));
      this.optStr(2, s.status.message ?? "");
      this.tag(3, 0);
      this.uv(s.status.code);
    }
  }
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
  const scopeLen = optStr(scope.name) + optStr(scope.version);
  let scopeSpansLen = ld(scopeLen);
  const spanLens = spans.map(spanLen);
  for (const n of spanLens) scopeSpansLen += ld(n);
  const resourceLen = attrsLen(resource);
  const resourceSpansLen = ld(resourceLen) + ld(scopeSpansLen);
  const w = new Writer(Buffer.allocUnsafe(ld(resourceSpansLen)));
  w.open(1, resourceSpansLen);
  w.open(1, resourceLen);
  w.attrs(1, resource);
  w.open(2, scopeSpansLen);
  w.open(1, scopeLen);
  w.optStr(1, scope.name);
  w.optStr(2, scope.version);
  spans.forEach((s, i) => {
    w.open(2, spanLens[i]!);
    w.span(s);
  });
  // A size pass that disagrees with the write pass would send a corrupt body: a bug, never data.
  if (w.pos !== w.buf.length) throw new Error(`OTLP encoder: wrote ${w.pos} bytes of ${w.buf.length}`);
  return w.buf;
}

// --- reading -------------------------------------------------------------------------------------------------

/** Limits on what one decoded request may hold; past them the request is refused (not truncated silently). */
export interface OtlpDecodeLimits {
  /** Spans in the whole request. */
  maxSpans: number;
  /** Attributes per span, resource or event; the rest are dropped and counted in `droppedAttributes`. */
  maxAttributes: number;
  /** Events per span; the rest are dropped. */
  maxEvents: number;
  /** Characters of a string value or a span name; longer ones are cut (and end in `…`). */
  maxStringLength: number;
}

export const OTLP_DECODE_LIMITS: OtlpDecodeLimits = {
  maxSpans: 10_000,
  maxAttributes: 128,
  maxEvents: 32,
  maxStringLength: 4096,
};

/** A decoded attribute value: arrays of scalars stay arrays; key-value lists become JSON text; bytes base64. */
export type DecodedValue = AttributeValue | AttributeValue[];

export interface DecodedSpan {
  traceId: string;
  spanId: string;
  parentSpanId: string | null;
  traceState: string;
  name: string;
  /** SpanKind: 0 unspecified, 1 internal, 2 server, 3 client, 4 producer, 5 consumer. */
  kind: number;
  startUnixNano: bigint;
  endUnixNano: bigint;
  attributes: Record<string, DecodedValue>;
  events: { name: string; timeUnixNano: bigint; attributes: Record<string, DecodedValue> }[];
  /** StatusCode: 0 unset, 1 ok, 2 error. */
  status: { code: number; message: string };
  /** Attributes and events left out by the limits. */
  droppedAttributes: number;
}

export interface DecodedResourceSpans {
  resource: Record<string, DecodedValue>;
  scopes: { name: string; version: string; spans: DecodedSpan[] }[];
}

/** A body that is not an ExportTraceServiceRequest, or one over the limits. */
export class OtlpDecodeError extends Error {}

/** A protobuf reader over one message's bytes (a view: nested messages are sub-readers, nothing is copied). */
class Reader {
  pos: number;
  constructor(
    readonly buf: Buffer,
    start = 0,
    readonly end = buf.length,
  ) {
    this.pos = start;
  }

  get done(): boolean {
    return this.pos >= this.end;
  }

  private fail(what: string): never {
    throw new OtlpDecodeError(`malformed protobuf: ${what} at byte ${this.pos}`);
  }

  /** A varint as a bigint (int64/uint64/fixed values may not fit a double). */
  varint(): bigint {
    let result = 0n;
    for (let shift = 0n; shift < 70n; shift += 7n) {
      if (this.pos >= this.end) this.fail("truncated varint");
      const b = this.buf[this.pos++]!;
      result |= BigInt(b & 0x7f) << shift;
      if (b < 0x80) return BigInt.asUintN(64, result);
    }
    return this.fail("varint longer than 10 bytes");
  }

  /** A varint that must fit 32 bits: tags, lengths, enums. */
  uint32(): number {
    let result = 0;
    for (let shift = 0; shift < 35; shift += 7) {
      if (this.pos >= this.end) this.fail("truncated varint");
      const b = this.buf[this.pos++]!;
      result += (b & 0x7f) * 2 ** shift;
      if (b < 0x80) {
        if (result > 0xffff_ffff) this.fail("32-bit value out of range");
        return result;
      }
    }
    // Enums and lengths are sent as 10-byte varints when negative: refuse those (no length is negative).
    return this.fail("varint too long for a 32-bit value");
  }

  fixed64(): bigint {
    if (this.pos + 8 > this.end) this.fail("truncated fixed64");
    const v = this.buf.readBigUInt64LE(this.pos);
    this.pos += 8;
    return v;
  }

  double(): number {
    if (this.pos + 8 > this.end) this.fail("truncated double");
    const v = this.buf.readDoubleLE(this.pos);
    this.pos += 8;
    return v;
  }

  /** A length-delimited field's bounds. */
  bytes(): { start: number; end: number } {
    const len = this.uint32();
    const start = this.pos;
    if (start + len > this.end) this.fail("length past the end of its message");
    this.pos = start + len;
    return { start, end: start + len };
  }

  sub(): Reader {
    const { start, end } = this.bytes();
    return new Reader(this.buf, start, end);
  }

  string(max: number): string {
    const { start, end } = this.bytes();
    const s = this.buf.toString("utf8", start, end);
    return s.length > max ? `${s.slice(0, max - 1)}…` : s;
  }

  hex(): string {
    const { start, end } = this.bytes();
    return this.buf.toString("hex", start, end);
  }

  /** Skips a field of an unknown number (forward compatibility: newer senders add fields). */
  skip(wire: number): void {
    if (wire === 0) this.varint();
    else if (wire === 1) this.advance(8);
    else if (wire === 2) this.bytes();
    else if (wire === 5) this.advance(4);
    else this.fail(`wire type ${wire}`);
  }

  private advance(n: number): void {
    if (this.pos + n > this.end) this.fail("truncated field");
    this.pos += n;
  }

  /** The next field's number and wire type. */
  tag(): [field: number, wire: number] {
    const t = this.uint32();
    const field = t >>> 3;
    if (field === 0) this.fail("field number 0");
    return [field, t & 7];
  }
}

/** Checks a field's wire type: a known field number with another wire type is a broken sender, not a newer one. */
function expect(wire: number, want: number, what: string): void {
  if (wire !== want) throw new OtlpDecodeError(`malformed protobuf: ${what} has wire type ${wire}`);
}

interface DecodeState {
  limits: OtlpDecodeLimits;
  spans: number;
}

function readAnyValue(r: Reader, st: DecodeState, depth: number): DecodedValue | undefined {
  let value: DecodedValue | undefined;
  while (!r.done) {
    const [field, wire] = r.tag();
    switch (field) {
      case 1:
        expect(wire, 2, "AnyValue.string_value");
        value = r.string(st.limits.maxStringLength);
        break;
      case 2:
        expect(wire, 0, "AnyValue.bool_value");
        value = r.varint() !== 0n;
        break;
      case 3: {
        expect(wire, 0, "AnyValue.int_value");
        const n = BigInt.asIntN(64, r.varint());
        // An int64 past 2^53 would lose digits as a number: kept exact, as text.
        value =
          n >= BigInt(Number.MIN_SAFE_INTEGER) && n <= BigInt(Number.MAX_SAFE_INTEGER)
            ? Number(n)
            : String(n);
        break;
      }
      case 4:
        expect(wire, 1, "AnyValue.double_value");
        value = r.double();
        break;
      case 5: {
        expect(wire, 2, "AnyValue.array_value");
        // ArrayValue { repeated AnyValue values = 1 }: scalars kept, nested arrays and lists as JSON text.
        const arr = r.sub();
        const items: AttributeValue[] = [];
        while (!arr.done) {
          const [f, w] = arr.tag();
          if (f !== 1) {
            arr.skip(w);
            continue;
          }
          expect(w, 2, "ArrayValue.values");
          const item = depth < 4 ? readAnyValue(arr.sub(), st, depth + 1) : (arr.skip(w), undefined);
          if (item !== undefined && items.length < st.limits.maxAttributes)
            items.push(Array.isArray(item) ? JSON.stringify(item) : item);
        }
        value = items;
        break;
      }
      case 6: {
        expect(wire, 2, "AnyValue.kvlist_value");
        // KeyValueList { repeated KeyValue values = 1 }: kept as JSON text (attributes are flat here).
        const list = r.sub();
        const obj: Record<string, DecodedValue> = {};
        while (!list.done) {
          const [f, w] = list.tag();
          if (f !== 1 || depth >= 4) {
            list.skip(w);
            continue;
          }
          expect(w, 2, "KeyValueList.values");
          const kv = readKeyValue(list.sub(), st, depth + 1);
          if (kv !== null) obj[kv[0]] = kv[1];
        }
        const text = JSON.stringify(obj);
        value =
          text.length > st.limits.maxStringLength ? `${text.slice(0, st.limits.maxStringLength - 1)}…` : text;
        break;
      }
      case 7: {
        expect(wire, 2, "AnyValue.bytes_value");
        const { start, end } = r.bytes();
        const b64 = r.buf.toString("base64", start, Math.min(end, start + st.limits.maxStringLength));
        value = b64;
        break;
      }
      default:
        r.skip(wire);
    }
  }
  return value;
}

function readKeyValue(r: Reader, st: DecodeState, depth = 0): [string, DecodedValue] | null {
  let key = "";
  let value: DecodedValue | undefined;
  while (!r.done) {
    const [field, wire] = r.tag();
    if (field === 1) {
      expect(wire, 2, "KeyValue.key");
      key = r.string(256);
    } else if (field === 2) {
      expect(wire, 2, "KeyValue.value");
      value = readAnyValue(r.sub(), st, depth);
    } else r.skip(wire);
  }
  // An attribute without a key, or without a value (an empty AnyValue), says nothing: left out.
  return key === "" || value === undefined ? null : [key, value];
}

/** Reads one KeyValue into `into` unless the limit is reached; returns whether it was dropped. */
function addAttribute(r: Reader, st: DecodeState, into: Record<string, DecodedValue>): boolean {
  const kv = readKeyValue(r.sub(), st);
  if (kv === null) return false;
  if (Object.keys(into).length >= st.limits.maxAttributes && !(kv[0] in into)) return true;
  // "__proto__" as an own data property, never the prototype: attributes are data.
  Object.defineProperty(into, kv[0], { value: kv[1], enumerable: true, writable: true, configurable: true });
  return false;
}

function readSpan(r: Reader, st: DecodeState): DecodedSpan {
  const s: DecodedSpan = {
    traceId: "",
    spanId: "",
    parentSpanId: null,
    traceState: "",
    name: "",
    kind: 0,
    startUnixNano: 0n,
    endUnixNano: 0n,
    attributes: {},
    events: [],
    status: { code: 0, message: "" },
    droppedAttributes: 0,
  };
  while (!r.done) {
    const [field, wire] = r.tag();
    switch (field) {
      case 1:
        expect(wire, 2, "Span.trace_id");
        s.traceId = r.hex();
        break;
      case 2:
        expect(wire, 2, "Span.span_id");
        s.spanId = r.hex();
        break;
      case 3:
        expect(wire, 2, "Span.trace_state");
        s.traceState = r.string(512);
        break;
      case 4: {
        expect(wire, 2, "Span.parent_span_id");
        const p = r.hex();
        s.parentSpanId = p === "" ? null : p;
        break;
      }
      case 5:
        expect(wire, 2, "Span.name");
        s.name = r.string(st.limits.maxStringLength);
        break;
      case 6:
        expect(wire, 0, "Span.kind");
        s.kind = r.uint32();
        break;
      case 7:
        expect(wire, 1, "Span.start_time_unix_nano");
        s.startUnixNano = r.fixed64();
        break;
      case 8:
        expect(wire, 1, "Span.end_time_unix_nano");
        s.endUnixNano = r.fixed64();
        break;
      case 9:
        expect(wire, 2, "Span.attributes");
        if (addAttribute(r, st, s.attributes)) s.droppedAttributes++;
        break;
      case 11: {
        expect(wire, 2, "Span.events");
        const e = r.sub();
        if (s.events.length >= st.limits.maxEvents) {
          s.droppedAttributes++;
          break;
        }
        const event = { name: "", timeUnixNano: 0n, attributes: {} as Record<string, DecodedValue> };
        while (!e.done) {
          const [f, w] = e.tag();
          if (f === 1) {
            expect(w, 1, "Event.time_unix_nano");
            event.timeUnixNano = e.fixed64();
          } else if (f === 2) {
            expect(w, 2, "Event.name");
            event.name = e.string(st.limits.maxStringLength);
          } else if (f === 3) {
            expect(w, 2, "Event.attributes");
            if (addAttribute(e, st, event.attributes)) s.droppedAttributes++;
          } else e.skip(w);
        }
        s.events.push(event);
        break;
      }
      case 15: {
        expect(wire, 2, "Span.status");
        const st2 = r.sub();
        while (!st2.done) {
          const [f, w] = st2.tag();
          if (f === 2) {
            expect(w, 2, "Status.message");
            s.status.message = st2.string(st.limits.maxStringLength);
          } else if (f === 3) {
            expect(w, 0, "Status.code");
            s.status.code = st2.uint32();
          } else st2.skip(w);
        }
        break;
      }
      default:
        r.skip(wire);
    }
  }
  return s;
}

/**
 * Reads an OTLP/HTTP protobuf traces body. Unknown fields are skipped (newer senders add some); a body that is
 * not protobuf, a known field of the wrong type, or more spans than `limits.maxSpans` throws OtlpDecodeError.
 * Ids are lowercase hex as sent: whether they are valid (16/8 bytes, not all zero) is the caller's check.
 */
export function decodeExportTraceRequest(
  body: Buffer,
  limits: OtlpDecodeLimits = OTLP_DECODE_LIMITS,
): DecodedResourceSpans[] {
  const st: DecodeState = { limits, spans: 0 };
  const out: DecodedResourceSpans[] = [];
  const r = new Reader(body);
  while (!r.done) {
    const [field, wire] = r.tag();
    if (field !== 1) {
      r.skip(wire);
      continue;
    }
    expect(wire, 2, "ExportTraceServiceRequest.resource_spans");
    const rs = r.sub();
    const entry: DecodedResourceSpans = { resource: {}, scopes: [] };
    while (!rs.done) {
      const [f, w] = rs.tag();
      if (f === 1) {
        expect(w, 2, "ResourceSpans.resource");
        const res = rs.sub();
        while (!res.done) {
          const [rf, rw] = res.tag();
          if (rf === 1) {
            expect(rw, 2, "Resource.attributes");
            addAttribute(res, st, entry.resource);
          } else res.skip(rw);
        }
      } else if (f === 2) {
        expect(w, 2, "ResourceSpans.scope_spans");
        const ss = rs.sub();
        const scope = { name: "", version: "", spans: [] as DecodedSpan[] };
        while (!ss.done) {
          const [sf, sw] = ss.tag();
          if (sf === 1) {
            expect(sw, 2, "ScopeSpans.scope");
            const sc = ss.sub();
            while (!sc.done) {
              const [cf, cw] = sc.tag();
              if (cf === 1) {
                expect(cw, 2, "InstrumentationScope.name");
                scope.name = sc.string(256);
              } else if (cf === 2) {
                expect(cw, 2, "InstrumentationScope.version");
                scope.version = sc.string(256);
              } else sc.skip(cw);
            }
          } else if (sf === 2) {
            expect(sw, 2, "ScopeSpans.spans");
            if (++st.spans > limits.maxSpans)
              throw new OtlpDecodeError(`more than ${limits.maxSpans} spans in one request`);
            scope.spans.push(readSpan(ss.sub(), st));
          } else ss.skip(sw);
        }
        entry.scopes.push(scope);
      } else rs.skip(w);
    }
    out.push(entry);
  }
  return out;
}

// --- answers -------------------------------------------------------------------------------------------------

/**
 * ExportTraceServiceResponse { ExportTracePartialSuccess partial_success = 1 }, partial_success being
 * { int64 rejected_spans = 1; string error_message = 2 }: empty when everything was accepted.
 */
export function encodeExportTraceResponse(rejectedSpans = 0, errorMessage = ""): Buffer {
  if (rejectedSpans === 0 && errorMessage === "") return Buffer.alloc(0);
  return Buffer.concat(
    messageField(1, [
      ...(rejectedSpans > 0 ? [tag(1, 0), varint(rejectedSpans)] : []),
      ...stringField(2, errorMessage),
    ]),
  );
}

/** google.rpc.Status { int32 code = 1; string message = 2 }: the body of an OTLP/HTTP error answer. */
export function encodeRpcStatus(code: number, message: string): Buffer {
  return Buffer.concat([tag(1, 0), uvarint(code), ...stringField(2, message)]);
}
