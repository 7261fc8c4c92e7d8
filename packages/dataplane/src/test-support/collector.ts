// An OTLP/HTTP traces endpoint for tests, decoding what it receives with the OpenTelemetry project's own
// compiled protocol definitions (@opentelemetry/otlp-transformer's generated protobufjs root), as a collector
// does: what the proxy writes by hand must read back through them field for field.
import { createServer, type Server } from "node:http";
import { createRequire } from "node:module";
import type { AddressInfo } from "node:net";

interface Long {
  toString(): string;
}
interface DecodedKeyValue {
  key: string;
  value: { stringValue?: string; boolValue?: boolean; intValue?: Long | number; doubleValue?: number };
}
interface DecodedSpan {
  traceId: Uint8Array;
  spanId: Uint8Array;
  parentSpanId: Uint8Array | null;
  name: string;
  kind: number;
  startTimeUnixNano: Long;
  endTimeUnixNano: Long;
  attributes: DecodedKeyValue[];
  status?: { code?: number; message?: string };
}
interface DecodedRequest {
  resourceSpans: {
    resource?: { attributes: DecodedKeyValue[] };
    scopeSpans: { scope?: { name: string; version: string }; spans: DecodedSpan[] }[];
  }[];
}

const root = createRequire(import.meta.url)("@opentelemetry/otlp-transformer/build/src/generated/root") as {
  opentelemetry: {
    proto: {
      collector: {
        trace: { v1: { ExportTraceServiceRequest: { decode(b: Uint8Array): DecodedRequest } } };
      };
    };
  };
};
const ExportTraceServiceRequest = root.opentelemetry.proto.collector.trace.v1.ExportTraceServiceRequest;

/** A span as the tests read it: hex ids, plain attribute values, nanoseconds as bigint. */
export interface CollectedSpan {
  traceId: string;
  spanId: string;
  parentSpanId: string;
  name: string;
  kind: number;
  start: bigint;
  end: bigint;
  attributes: Record<string, string | number | boolean>;
  status: { code: number; message: string };
  resource: Record<string, string | number | boolean>;
  scope: string;
}

/** Bytes as hex; an absent field (protobufjs leaves it null) as "". */
const hex = (b: Uint8Array | null | undefined) => (b ? Buffer.from(b).toString("hex") : "");

function attributes(kvs: DecodedKeyValue[] | undefined): Record<string, string | number | boolean> {
  const out: Record<string, string | number | boolean> = {};
  for (const kv of kvs ?? []) {
    const v = kv.value;
    out[kv.key] =
      v.stringValue ??
      v.boolValue ??
      (v.intValue !== undefined ? Number(v.intValue.toString()) : v.doubleValue!);
  }
  return out;
}

/** Decodes one OTLP/HTTP protobuf body into spans. */
export function decodeTraces(body: Uint8Array): CollectedSpan[] {
  const req = ExportTraceServiceRequest.decode(body);
  const out: CollectedSpan[] = [];
  for (const rs of req.resourceSpans) {
    const resource = attributes(rs.resource?.attributes);
    for (const ss of rs.scopeSpans)
      for (const s of ss.spans)
        out.push({
          traceId: hex(s.traceId),
          spanId: hex(s.spanId),
          parentSpanId: hex(s.parentSpanId),
          name: s.name,
          kind: s.kind,
          start: BigInt(s.startTimeUnixNano.toString()),
          end: BigInt(s.endTimeUnixNano.toString()),
          attributes: attributes(s.attributes),
          status: { code: s.status?.code ?? 0, message: s.status?.message ?? "" },
          resource,
          scope: ss.scope?.name ?? "",
        });
  }
  return out;
}

export interface TestCollector {
  endpoint: string;
  spans: CollectedSpan[];
  /** Export requests received (each a batch). */
  requests: number;
  /** Answer with this status; or hold every request this long before answering. */
  behave(b: { status?: number; delayMs?: number }): void;
  close(): Promise<void>;
}

export async function startCollector(): Promise<TestCollector> {
  let behaviour: { status?: number; delayMs?: number } = {};
  const c = { spans: [] as CollectedSpan[], requests: 0 };
  const server: Server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on("data", (d: Buffer) => chunks.push(d));
    req.on("end", () => {
      c.requests++;
      const answer = () => {
        const status = behaviour.status ?? 200;
        if (status === 200) {
          if (req.url !== "/v1/traces" || req.headers["content-type"] !== "application/x-protobuf") {
            res.writeHead(415).end();
            return;
          }
          c.spans.push(...decodeTraces(Buffer.concat(chunks)));
        }
        res.writeHead(status, { "content-type": "application/x-protobuf" }).end();
      };
      if (behaviour.delayMs) setTimeout(answer, behaviour.delayMs);
      else answer();
    });
  });
  await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
  const { port } = server.address() as AddressInfo;
  return {
    endpoint: `http://127.0.0.1:${port}/v1/traces`,
    get spans() {
      return c.spans;
    },
    get requests() {
      return c.requests;
    },
    behave: (b) => (behaviour = b),
    close: () =>
      new Promise<void>((r) => {
        server.close(() => r());
        server.closeAllConnections();
      }),
  };
}
