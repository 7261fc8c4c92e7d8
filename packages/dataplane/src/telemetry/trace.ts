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
  /** Whether this trace is recorded (the sampled flag this hop sends on). */
  sampled: boolean;
  header: string;
}

/** Decides whether a trace that starts here is sampled. */
export type Sampler = (traceId: string) => boolean;

/** Every new trace is flagged sampled: what the proxy does when it records no spans itself. */
export const SAMPLE_ALL: Sampler = () => true;

/**
 * `percent` of new traces, decided by the trace id (its last 8 hex digits as a fraction of 2^32), so the same
 * trace gets the same answer wherever it is asked.
 */
export function percentSampler(percent: number): Sampler {
  if (percent >= 100) return SAMPLE_ALL;
  if (percent <= 0) return () => false;
  const bound = Math.floor((percent / 100) * 0x1_0000_0000);
  return (traceId) => Number.parseInt(traceId.slice(24), 16) < bound;
}

/**
 * The traceparent to send upstream for this hop, continuing `incoming` when it is valid (its sampled flag
 * decides: a trace is recorded by every hop or by none). A new trace is sampled as `sampleNew` says.
 */
export function nextSpan(incoming: string | string[] | undefined, sampleNew: Sampler = SAMPLE_ALL): Span {
  const m = typeof incoming === "string" ? TRACEPARENT_RE.exec(incoming) : null;
  const spanId = randomHex(8);
  if (m !== null && m[1] !== "00000000000000000000000000000000" && m[2] !== "0000000000000000") {
    const flags = m[3]!;
    return {
      traceId: m[1]!,
      spanId,
      parentId: m[2]!,
      sampled: (Number.parseInt(flags, 16) & 1) === 1,
      header: `00-${m[1]}-${spanId}-${flags}`,
    };
  }
  const traceId = randomHex(16);
  const sampled = sampleNew(traceId);
  return {
    traceId,
    spanId,
    parentId: null,
    sampled,
    header: `00-${traceId}-${spanId}-${sampled ? "01" : "00"}`,
  };
}
