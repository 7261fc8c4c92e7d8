// The trace intake: OTLP/HTTP (protobuf, gzip or not) on the replica's HTTPS port, for sidecars only. The
// sender is the workload its client certificate names (issued by the mesh CA, not revoked); its spans are
// screened (trace-store.ts), held to a budget per service, written to PostgreSQL, and handed on to an external
// collector when one is configured. Answers follow OTLP/HTTP: 200 with an ExportTraceServiceResponse (its
// partial_success counting refused spans), 4xx/5xx with a google.rpc.Status.
import type { IncomingMessage, ServerResponse } from "node:http";
import type { TLSSocket } from "node:tls";
import { createGunzip } from "node:zlib";
import { MESH_SPAN_ORIGIN_HEADER, normalizeSerial, parseSpiffeId, spiffeIdOfSan } from "@trellis/contracts";
import {
  decodeExportTraceRequest,
  encodeExportTraceResponse,
  encodeRpcStatus,
  OtlpDecodeError,
} from "@trellis/contracts/otlp";
import type { Db } from "@trellis/db";
import { insertSpans, screenSpans, type SpanRow, type SpanSender } from "./trace-store.js";

/** Largest body taken, as sent (compressed or not), and once unzipped. */
export const MAX_TRACE_BODY_BYTES = 4 * 1024 * 1024;
const MAX_UNZIPPED_BYTES = 16 * 1024 * 1024;
/** Writes in flight at once; one more request is answered 503 (the sidecar drops the batch and counts it). */
const MAX_WRITES_IN_FLIGHT = 4;
/** Revocation answers are remembered this long per serial (a sidecar exports about once a second). */
const REVOCATION_CACHE_MS = 30_000;
/** Refused spans are logged at most this often per sender. */
const COMPLAINT_MS = 10_000;

// gRPC status codes, as OTLP/HTTP's error bodies carry them.
const INVALID_ARGUMENT = 3;
const RESOURCE_EXHAUSTED = 8;
const UNAUTHENTICATED = 16;
const UNAVAILABLE = 14;

export interface TraceIntakeOptions {
  db: Db;
  trustDomain: () => string;
  /** Spans older than this are refused (they would be pruned at once). */
  retentionMs: number;
  /** Spans per second one service (all its workloads on this replica) may send, and the burst above it. */
  spansPerSecond: number;
  /** Accepted spans, to forward (see trace-forwarder.ts); absent: none. */
  forward?: (rows: readonly SpanRow[]) => void;
  log: (line: string) => void;
}

export interface TraceIntakeStats {
  accepted: number;
  refused: number;
}

export interface TraceIntake {
  handle(req: IncomingMessage, res: ServerResponse): void;
  stats(): TraceIntakeStats;
}

export function createTraceIntake(o: TraceIntakeOptions): TraceIntake {
  const revokedCache = new Map<string, { revoked: boolean; at: number }>();
  const buckets = new Map<string, { tokens: number; at: number }>();
  const complaints = new Map<string, number>();
  const stats: TraceIntakeStats = { accepted: 0, refused: 0 };
  let writes = 0;

  const answer = (res: ServerResponse, status: number, body: Buffer): void => {
    res
      .writeHead(status, { "content-type": "application/x-protobuf", "content-length": body.length })
      .end(body);
  };
  const fail = (res: ServerResponse, status: number, code: number, message: string): void =>
    answer(res, status, encodeRpcStatus(code, message));

  async function isRevoked(serialNumber: string): Promise<boolean> {
    const serial = normalizeSerial(serialNumber).padStart(32, "0");
    const now = Date.now();
    const hit = revokedCache.get(serial);
    if (hit && now - hit.at < REVOCATION_CACHE_MS) return hit.revoked;
    const rows = await o.db.revokedCertificate.findMany({ where: { serial }, select: { serial: true } });
    if (revokedCache.size > 10_000) revokedCache.clear();
    revokedCache.set(serial, { revoked: rows.length > 0, at: now });
    return rows.length > 0;
  }

  /** Takes `n` spans from the sender's budget; returns how many it may keep. */
  function budget(key: string, n: number): number {
    const now = Date.now();
    const burst = o.spansPerSecond * 10;
    const b = buckets.get(key) ?? { tokens: burst, at: now };
    b.tokens = Math.min(burst, b.tokens + ((now - b.at) / 1000) * o.spansPerSecond);
    b.at = now;
    const kept = Math.max(0, Math.min(n, Math.floor(b.tokens)));
    b.tokens -= kept;
    buckets.set(key, b);
    return kept;
  }

  function complain(key: string, refused: Map<string, number>): void {
    const now = Date.now();
    if (now - (complaints.get(key) ?? 0) < COMPLAINT_MS) return;
    complaints.set(key, now);
    const reasons = [...refused].map(([why, n]) => `${n} ${why}`).join(", ");
    o.log(`control plane: refused spans of ${key}: ${reasons}`);
  }

  /** The body, unzipped when it says gzip; null (answered) when too large or broken. */
  function readBody(req: IncomingMessage, res: ServerResponse): Promise<Buffer | null> {
    return new Promise((resolve) => {
      const declared = Number(req.headers["content-length"] ?? 0);
      if (declared > MAX_TRACE_BODY_BYTES) {
        fail(res, 413, INVALID_ARGUMENT, `the body is larger than ${MAX_TRACE_BODY_BYTES} bytes`);
        req.resume();
        return resolve(null);
      }
      const encoding = (req.headers["content-encoding"] ?? "identity").toLowerCase();
      if (encoding !== "identity" && encoding !== "gzip") {
        fail(res, 415, INVALID_ARGUMENT, `content-encoding ${encoding} is not supported (gzip or none)`);
        req.resume();
        return resolve(null);
      }
      const source = encoding === "gzip" ? req.pipe(createGunzip()) : req;
      const limit = encoding === "gzip" ? MAX_UNZIPPED_BYTES : MAX_TRACE_BODY_BYTES;
      const chunks: Buffer[] = [];
      let size = 0;
      let raw = 0;
      let done = false;
      const stop = (status: number, message: string) => {
        if (done) return;
        done = true;
        fail(res, status, INVALID_ARGUMENT, message);
        req.unpipe();
        req.resume();
        resolve(null);
      };
      if (encoding === "gzip")
        req.on("data", (c: Buffer) => {
          raw += c.length;
          if (raw > MAX_TRACE_BODY_BYTES) stop(413, `the body is larger than ${MAX_TRACE_BODY_BYTES} bytes`);
        });
      source.on("data", (c: Buffer) => {
        size += c.length;
        if (size > limit) return stop(413, `the body is larger than ${limit} bytes`);
        if (!done) chunks.push(c);
      });
      source.on("error", (e: Error) => stop(400, `the body could not be read: ${e.message}`));
      source.on("end", () => {
        if (done) return;
        done = true;
        resolve(Buffer.concat(chunks));
      });
    });
  }

  async function handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const socket = req.socket as TLSSocket;
    const cert = socket.authorized ? socket.getPeerCertificate() : null;
    const id = parseSpiffeId(spiffeIdOfSan(cert?.subjectaltname) ?? "");
    if (cert === null || id === null || id.trustDomain !== o.trustDomain()) {
      req.resume();
      return fail(
        res,
        401,
        UNAUTHENTICATED,
        "a workload certificate of this mesh is required: only sidecars send spans here (apps send theirs to their sidecar)",
      );
    }
    if (await isRevoked(cert.serialNumber)) {
      req.resume();
      return fail(res, 401, UNAUTHENTICATED, "the workload certificate is revoked");
    }
    const type = (req.headers["content-type"] ?? "").split(";")[0]!.trim().toLowerCase();
    if (type !== "application/x-protobuf") {
      req.resume();
      return fail(res, 415, INVALID_ARGUMENT, "only application/x-protobuf is accepted (OTLP/HTTP protobuf)");
    }
    const body = await readBody(req, res);
    if (body === null) return;
    let decoded;
    try {
      decoded = decodeExportTraceRequest(body);
    } catch (e) {
      if (e instanceof OtlpDecodeError) return fail(res, 400, INVALID_ARGUMENT, e.message);
      throw e;
    }
    const origin = req.headers[MESH_SPAN_ORIGIN_HEADER] === "app" ? "app" : "proxy";
    const sender: SpanSender = { namespace: id.namespace, service: id.service, origin };
    const key = `${id.namespace}/${id.service}`;
    const now = Date.now();
    const { rows, refused } = screenSpans(decoded, sender, now, now - o.retentionMs);
    const kept = budget(key, rows.length);
    if (kept < rows.length) {
      refused.set("over the service's span budget", rows.length - kept);
      rows.length = kept;
    }
    if (rows.length > 0) {
      if (writes >= MAX_WRITES_IN_FLIGHT)
        return fail(res, 503, UNAVAILABLE, "the trace store is busy; the batch was not stored");
      writes++;
      try {
        await insertSpans(o.db, rows);
      } catch (e) {
        o.log(`control plane: storing ${rows.length} spans of ${key} failed: ${(e as Error).message}`);
        return fail(res, 503, UNAVAILABLE, "the trace store is unavailable; the batch was not stored");
      } finally {
        writes--;
      }
      o.forward?.(rows);
    }
    let refusedCount = 0;
    for (const n of refused.values()) refusedCount += n;
    stats.accepted += rows.length;
    stats.refused += refusedCount;
    if (refusedCount > 0) complain(key, refused);
    if (rows.length === 0 && refused.has("over the service's span budget"))
      return fail(res, 429, RESOURCE_EXHAUSTED, `${key} is over its span budget`);
    const message = [...refused].map(([why, n]) => `${n} ${why}`).join(", ");
    answer(res, 200, encodeExportTraceResponse(refusedCount, message));
  }

  return {
    handle(req, res) {
      handle(req, res).catch((e: unknown) => {
        o.log(`control plane: trace intake failed: ${(e as Error).message}`);
        if (!res.headersSent) fail(res, 500, 13, "internal error");
        else res.destroy();
      });
    },
    stats: () => ({ ...stats }),
  };
}
