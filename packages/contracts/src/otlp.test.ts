// The OTLP codec against the OpenTelemetry project's own compiled protocol definitions (the protobufjs root in
// @opentelemetry/otlp-transformer, what the SDK for Node encodes with): what we write reads back through
// them, and what they write (every value type, events, fields we do not know) reads back through ours.
import { createRequire } from "node:module";
import { randomBytes } from "node:crypto";
import { describe, expect, it } from "vitest";
import {
  decodeExportTraceRequest,
  encodeExportTraceRequest,
  OTLP_DECODE_LIMITS,
  OtlpDecodeError,
  SPAN_KIND_CLIENT,
  STATUS_ERROR,
} from "./otlp.js";

interface ProtoType {
  fromObject(o: unknown): unknown;
  encode(m: unknown): { finish(): Uint8Array };
  decode(b: Uint8Array): unknown;
  toObject(m: unknown, o: unknown): Record<string, unknown>;
}
const root = createRequire(import.meta.url)("@opentelemetry/otlp-transformer/build/src/generated/root") as {
  opentelemetry: { proto: { collector: { trace: { v1: { ExportTraceServiceRequest: ProtoType } } } } };
};
const Request = root.opentelemetry.proto.collector.trace.v1.ExportTraceServiceRequest;

const traceId = "0af7651916cd43dd8448eb211c80319c";
const spanId = "b7ad6b7169203331";
const b = (hex: string) => Buffer.from(hex, "hex");

/** A request as an SDK would build it (protobufjs `fromObject` form). */
function sdkRequest(
  spans: unknown[],
  resource: unknown[] = [{ key: "service.name", value: { stringValue: "app" } }],
) {
  return Buffer.from(
    Request.encode(
      Request.fromObject({
        resourceSpans: [
          {
            resource: { attributes: resource },
            scopeSpans: [
              { scope: { name: "@opentelemetry/instrumentation-http", version: "0.57.2" }, spans },
            ],
          },
        ],
      }),
    ).finish(),
  );
}

describe("OTLP traces codec", () => {
  it("writes what the OpenTelemetry definitions read", () => {
    const body = encodeExportTraceRequest(
      [["service.name", "reviews"]],
      { name: "trellis-proxy", version: "1" },
      [
        {
          traceId,
          spanId,
          parentSpanId: "00f067aa0ba902b7",
          name: "GET",
          kind: SPAN_KIND_CLIENT,
          startUnixNano: 1_700_000_000_000_000_000n,
          endUnixNano: 1_700_000_000_250_000_000n,
          attributes: [
            ["http.response.status_code", 503],
            ["trellis.retry", true],
            ["x.ratio", 0.5],
          ],
          status: { code: STATUS_ERROR, message: "upstream reset" },
        },
      ],
    );
    const o = Request.toObject(Request.decode(body), { longs: String, bytes: String, defaults: false });
    const rs = (o.resourceSpans as { scopeSpans: { spans: Record<string, unknown>[] }[] }[])[0]!;
    const s = rs.scopeSpans[0]!.spans[0]!;
    expect(s.name).toBe("GET");
    expect(s.kind).toBe(3);
    expect(s.endTimeUnixNano).toBe("1700000000250000000");
    expect(Buffer.from(s.traceId as string, "base64").toString("hex")).toBe(traceId);
    expect(s.status).toEqual({ code: 2, message: "upstream reset" });
    // Read back through ours too: the two halves agree.
    const [ours] = decodeExportTraceRequest(body);
    expect(ours!.resource).toEqual({ "service.name": "reviews" });
    expect(ours!.scopes[0]!.spans[0]!.attributes).toEqual({
      "http.response.status_code": 503,
      "trellis.retry": true,
      "x.ratio": 0.5,
    });
  });

  it("writes every value type, events and statuses in a large batch as the OpenTelemetry definitions read them", () => {
    const spans = Array.from({ length: 300 }, (_, i) => ({
      traceId: traceId,
      spanId: (i + 1).toString(16).padStart(16, "0"),
      parentSpanId: i % 3 === 0 ? null : "00f067aa0ba902b7",
      name: i % 7 === 0 ? "" : `GET /ünïcode/${i} ✓`,
      kind: i % 6,
      startUnixNano: 1_700_000_000_000_000_000n + BigInt(i),
      endUnixNano: 1_700_000_000_000_000_000n + BigInt(i * 1000),
      attributes: [
        ["neg", -i - 1],
        ["big", 2 ** 52 + i],
        ["zero", 0],
        ["f", i + 0.5],
        ["flag", i % 2 === 0],
        ["empty", ""],
        ["list", ["a", i, true]],
        ["", "no key"],
      ] as const,
      status:
        i % 4 === 0
          ? { code: STATUS_ERROR, message: i % 8 === 0 ? "" : "bœm" }
          : { code: i % 4 === 1 ? 1 : 0 },
      events:
        i % 5 === 0
          ? [
              {
                name: "exception",
                timeUnixNano: 1_700_000_000_000_000_100n,
                attributes: [["k", "v"]] as const,
              },
            ]
          : [],
    }));
    const body = encodeExportTraceRequest(
      [
        ["service.name", "wéb"],
        ["n", 3],
      ],
      { name: "", version: "9" },
      spans,
    );
    const o = Request.toObject(Request.decode(body), { longs: String, bytes: String, defaults: false });
    const decoded = (o.resourceSpans as { scopeSpans: { spans: Record<string, unknown>[] }[] }[])[0]!
      .scopeSpans[0]!.spans;
    expect(decoded).toHaveLength(300);
    const s1 = decoded[1]!;
    expect(s1.name).toBe("GET /ünïcode/1 ✓");
    expect(s1.kind).toBe(1);
    expect(s1.endTimeUnixNano).toBe("1700000000000001000");
    expect(s1.status).toEqual({ code: 1 });
    const attrs = Object.fromEntries(
      (s1.attributes as { key: string; value: Record<string, unknown> }[]).map((a) => [a.key, a.value]),
    );
    expect(attrs).toMatchObject({
      neg: { intValue: "-2" },
      big: { intValue: String(2 ** 52 + 1) },
      zero: { intValue: "0" },
      f: { doubleValue: 1.5 },
      flag: { boolValue: false },
      empty: { stringValue: "" },
      list: { arrayValue: { values: [{ stringValue: "a" }, { intValue: "1" }, { boolValue: true }] } },
    });
    expect(decoded[0]!.name ?? "").toBe("");
    expect(decoded[0]!.status).toEqual({ code: 2 });
    expect(decoded[4]!.status).toEqual({ code: 2, message: "bœm" });
    expect(decoded[5]!.events).toEqual([
      {
        timeUnixNano: "1700000000000000100",
        name: "exception",
        attributes: [{ key: "k", value: { stringValue: "v" } }],
      },
    ]);
    // And ours reads back what it wrote.
    const [rs] = decodeExportTraceRequest(body);
    expect(rs!.resource).toEqual({ "service.name": "wéb", n: 3 });
    expect(rs!.scopes[0]!.spans.map((x) => x.spanId)).toEqual(spans.map((x) => x.spanId));
    expect(rs!.scopes[0]!.spans[9]!.attributes["neg"]).toBe(-10);
  });

  it("reads every value type, events, trace state and parents as the SDK writes them", () => {
    const body = sdkRequest([
      {
        traceId: b(traceId),
        spanId: b(spanId),
        parentSpanId: b("00f067aa0ba902b7"),
        traceState: "congo=t61rcWkgMzE",
        name: "GET /reviews/:id",
        kind: 2,
        startTimeUnixNano: "1700000000000000001",
        endTimeUnixNano: "1700000000000000002",
        attributes: [
          { key: "http.request.method", value: { stringValue: "GET" } },
          { key: "big", value: { intValue: "9007199254740993" } },
          { key: "neg", value: { intValue: -5 } },
          { key: "flag", value: { boolValue: false } },
          { key: "d", value: { doubleValue: 1.25 } },
          { key: "list", value: { arrayValue: { values: [{ stringValue: "a" }, { intValue: 2 }] } } },
          { key: "kv", value: { kvlistValue: { values: [{ key: "k", value: { stringValue: "v" } }] } } },
          { key: "raw", value: { bytesValue: Buffer.from("hi") } },
          { key: "__proto__", value: { stringValue: "data, not a prototype" } },
          { key: "", value: { stringValue: "no key" } },
        ],
        events: [
          {
            timeUnixNano: "1700000000000000001",
            name: "exception",
            attributes: [{ key: "exception.message", value: { stringValue: "boom" } }],
          },
        ],
        status: { code: 1 },
        flags: 0x301,
        droppedAttributesCount: 3,
      },
    ]);
    const [rs] = decodeExportTraceRequest(body);
    expect(rs!.scopes[0]!.name).toBe("@opentelemetry/instrumentation-http");
    const s = rs!.scopes[0]!.spans[0]!;
    expect(s).toMatchObject({
      traceId,
      spanId,
      parentSpanId: "00f067aa0ba902b7",
      traceState: "congo=t61rcWkgMzE",
      name: "GET /reviews/:id",
      kind: 2,
      startUnixNano: 1_700_000_000_000_000_001n,
      endUnixNano: 1_700_000_000_000_000_002n,
      status: { code: 1, message: "" },
    });
    expect(s.attributes["big"]).toBe("9007199254740993");
    expect(s.attributes["neg"]).toBe(-5);
    expect(s.attributes["flag"]).toBe(false);
    expect(s.attributes["d"]).toBe(1.25);
    expect(s.attributes["list"]).toEqual(["a", 2]);
    expect(s.attributes["kv"]).toBe('{"k":"v"}');
    expect(s.attributes["raw"]).toBe(Buffer.from("hi").toString("base64"));
    expect(Object.getPrototypeOf(s.attributes)).toBe(Object.prototype);
    expect(Object.getOwnPropertyDescriptor(s.attributes, "__proto__")?.value).toBe("data, not a prototype");
    expect("" in s.attributes).toBe(false);
    expect(s.events).toEqual([
      {
        name: "exception",
        timeUnixNano: 1_700_000_000_000_000_001n,
        attributes: { "exception.message": "boom" },
      },
    ]);
  });

  it("holds a request to its limits", () => {
    const span = (i: number) => ({
      traceId: b(traceId),
      spanId: b(i.toString(16).padStart(16, "0")),
      name: "x".repeat(20),
      attributes: Array.from({ length: 5 }, (_, k) => ({
        key: `a${k}`,
        value: { stringValue: "y".repeat(50) },
      })),
    });
    const limits = { ...OTLP_DECODE_LIMITS, maxSpans: 3, maxAttributes: 2, maxStringLength: 10 };
    expect(() => decodeExportTraceRequest(sdkRequest([span(1), span(2), span(3), span(4)]), limits)).toThrow(
      /more than 3 spans/,
    );
    const [rs] = decodeExportTraceRequest(sdkRequest([span(1)]), limits);
    const s = rs!.scopes[0]!.spans[0]!;
    expect(Object.keys(s.attributes)).toEqual(["a0", "a1"]);
    expect(s.droppedAttributes).toBe(3);
    expect(s.attributes["a0"]).toBe("yyyyyyyyy…");
    expect(s.name).toHaveLength(10);
  });

  it("refuses what is not protobuf with OtlpDecodeError, and never anything else", () => {
    expect(() => decodeExportTraceRequest(Buffer.from('{"resourceSpans":[]}'))).toThrow(OtlpDecodeError);
    const good = sdkRequest([{ traceId: b(traceId), spanId: b(spanId), name: "n" }]);
    // Every truncation of a valid body: decoded or refused, never a RangeError or a hang.
    for (let n = 0; n < good.length; n++) {
      try {
        decodeExportTraceRequest(good.subarray(0, n));
      } catch (e) {
        expect(e).toBeInstanceOf(OtlpDecodeError);
      }
    }
    for (let i = 0; i < 2000; i++) {
      try {
        decodeExportTraceRequest(randomBytes(1 + (i % 97)));
      } catch (e) {
        expect(e).toBeInstanceOf(OtlpDecodeError);
      }
    }
  });
});
