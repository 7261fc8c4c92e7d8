// W3C trace context: every hop keeps the trace id and starts a new span whose parent is the caller's span.
// Random ids come from a pooled buffer, so a request costs a slice and a hex conversion, not a syscall.
import { randomFillSync } from "node:crypto";

const pool = Buffer.allocUnsafe(4096);
let offset = pool.length;

function randomHex(bytes: number): string {
  if (offset + bytes > pool.length) {
    randomFillSync(pool);
    offset = 0;
  }
  const s = pool.toString("hex", offset, offset + bytes);
  offset += bytes;
  return s;
}

const TRACEPARENT_RE = /^00-([0-9a-f]{32})-([0-9a-f]{16})-([0-9a-f]{2})$/;

export interface Span {
  traceId: string;
  spanId: string;
  parentId: string | null;
  header: string;
}

/** The traceparent to send upstream for this hop, continuing `incoming` when it is valid. */
export function nextSpan(incoming: string | string[] | undefined): Span {
  const m = typeof incoming === "string" ? TRACEPARENT_RE.exec(incoming) : null;
  const spanId = randomHex(8);
  if (m !== null && m[1] !== "00000000000000000000000000000000") {
    return { traceId: m[1]!, spanId, parentId: m[2]!, header: `00-${m[1]}-${spanId}-${m[3]}` };
  }
  const traceId = randomHex(16);
  return { traceId, spanId, parentId: null, header: `00-${traceId}-${spanId}-01` };
}
