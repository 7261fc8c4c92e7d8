// Request metrics per (direction, source, destination, protocol, response code): a count and a latency histogram, plus TCP
// and proxy-health counters. Series objects are created once per label set and then only incremented; label
// strings are rendered when the series is created, not on every scrape or request. The control plane gets
// deltas (`drainTelemetry`): each series remembers what it last reported, so a report costs one pass over the
// series and nothing on the request path.
import { LATENCY_BUCKETS_MS, type TelemetrySeries } from "@trellis/contracts";
import { P_HTTP1, protocolName } from "./protocol.js";

/** Histogram bounds in milliseconds. */
export const BUCKETS_MS = [0.5, 1, 2, 5, 10, 25, 50, 100, 250, 500, 1000, 2500, 5000, 10000, 30000, 60000];

/**
 * Where each of our buckets lands in the control plane's coarser layout (LATENCY_BUCKETS_MS plus one overflow
 * slot). Ours are a superset of its bounds up to 10 s, so the mapping loses nothing it keeps.
 */
const REPORT_SLOT: readonly number[] = BUCKETS_MS.map((b) => {
  const i = LATENCY_BUCKETS_MS.findIndex((r) => b <= r);
  return i === -1 ? LATENCY_BUCKETS_MS.length : i;
});
const REPORT_SLOTS = LATENCY_BUCKETS_MS.length + 1;

class StatusSeries {
  count = 0;
  sumMs = 0;
  readonly buckets = new Float64Array(BUCKETS_MS.length);
  /** What the last telemetry report covered. */
  reportedCount = 0;
  reportedSumMs = 0;
  readonly reportedBuckets = new Float64Array(BUCKETS_MS.length);
  constructor(
    readonly labels: string,
    readonly code: number,
  ) {}
  observe(ms: number): void {
    this.count++;
    this.sumMs += ms;
    for (let i = 0; i < BUCKETS_MS.length; i++) {
      if (ms <= BUCKETS_MS[i]!) {
        this.buckets[i]!++;
        return;
      }
    }
  }
}

export interface PeerLabels {
  namespace: string;
  service: string;
  version: string;
}

const esc = (v: string) => v.replace(/\\/g, "\\\\").replace(/"/g, '\\"').replace(/\n/g, "\\n");

/** All requests between one source and one destination over one protocol, split by response code. */
export class RequestSeries {
  private readonly byStatus = new Map<number, StatusSeries>();
  constructor(
    private readonly labels: string,
    readonly direction: Direction,
    readonly source: PeerLabels,
    readonly destination: PeerLabels,
    /** Whether these requests crossed the mesh over mutual TLS. */
    readonly mtls: boolean,
    /** Index into TRAFFIC_PROTOCOLS (telemetry/protocol.ts). */
    readonly protocol: number,
  ) {}
  record(status: number, ms: number): void {
    let s = this.byStatus.get(status);
    if (s === undefined) {
      s = new StatusSeries(`${this.labels},response_code="${status}"`, status);
      this.byStatus.set(status, s);
    }
    s.observe(ms);
  }
  statuses(): Iterable<StatusSeries> {
    return this.byStatus.values();
  }
}

export type Direction = "inbound" | "outbound";

export class Metrics {
  private readonly series = new Map<string, RequestSeries>();
  /** Simple counters and gauges by full metric line prefix (`name{labels}`). */
  readonly counters = new Map<string, number>();

  /** Made once per label set (callers cache it); `protocol` indexes TRAFFIC_PROTOCOLS. */
  requestSeries(
    direction: Direction,
    src: PeerLabels,
    dst: PeerLabels,
    mtls = false,
    protocol = P_HTTP1,
  ): RequestSeries {
    const labels =
      `direction="${direction}",source_namespace="${esc(src.namespace)}",source_service="${esc(src.service)}",source_version="${esc(src.version)}",` +
      `destination_namespace="${esc(dst.namespace)}",destination_service="${esc(dst.service)}",destination_version="${esc(dst.version)}",mtls="${mtls}",protocol="${protocolName(protocol)}"`;
    let s = this.series.get(labels);
    if (s === undefined) {
      s = new RequestSeries(labels, direction, { ...src }, { ...dst }, mtls, protocol);
      this.series.set(labels, s);
    }
    return s;
  }

  add(name: string, by = 1): void {
    this.counters.set(name, (this.counters.get(name) ?? 0) + by);
  }
  set(name: string, v: number): void {
    this.counters.set(name, v);
  }

  /**
   * What happened since the last call, one entry per (direction, source, destination, protocol, code) that saw
   * requests, in the layout the control plane stores (contracts' LATENCY_BUCKETS_MS). Bytes are not split
   * per series yet and are reported as 0.
   */
  drainTelemetry(): TelemetrySeries[] {
    const out: TelemetrySeries[] = [];
    for (const rs of this.series.values()) {
      for (const s of rs.statuses()) {
        const requests = s.count - s.reportedCount;
        if (requests === 0) continue;
        const buckets = new Array<number>(REPORT_SLOTS).fill(0);
        let counted = 0;
        for (let i = 0; i < BUCKETS_MS.length; i++) {
          const d = s.buckets[i]! - s.reportedBuckets[i]!;
          if (d === 0) continue;
          buckets[REPORT_SLOT[i]!]! += d;
          counted += d;
          s.reportedBuckets[i] = s.buckets[i]!;
        }
        // Requests slower than our last bound are in no bucket: they go to the overflow slot.
        buckets[REPORT_SLOTS - 1]! += requests - counted;
        out.push({
          source: rs.source,
          destination: rs.destination,
          code: s.code,
          protocol: protocolName(rs.protocol),
          reporter: rs.direction,
          requests,
          mtlsRequests: rs.mtls ? requests : 0,
          durationSumMs: Math.max(0, s.sumMs - s.reportedSumMs),
          buckets,
          bytesSent: 0,
          bytesReceived: 0,
        });
        s.reportedCount = s.count;
        s.reportedSumMs = s.sumMs;
      }
    }
    return out;
  }

  /** Prometheus text exposition format 0.0.4. */
  render(extra: Iterable<[string, number]> = []): string {
    const out: string[] = [];
    out.push(
      "# HELP trellis_requests_total Requests handled, by source, destination, protocol and response code (gRPC: the HTTP status paired with grpc-status).",
    );
    out.push("# TYPE trellis_requests_total counter");
    const all: StatusSeries[] = [];
    for (const rs of this.series.values()) for (const s of rs.statuses()) all.push(s);
    for (const s of all) out.push(`trellis_requests_total{${s.labels}} ${s.count}`);
    out.push(
      "# HELP trellis_request_duration_ms Request duration until the response body ends, in milliseconds.",
    );
    out.push("# TYPE trellis_request_duration_ms histogram");
    for (const s of all) {
      let cum = 0;
      for (let i = 0; i < BUCKETS_MS.length; i++) {
        cum += s.buckets[i]!;
        out.push(`trellis_request_duration_ms_bucket{${s.labels},le="${BUCKETS_MS[i]}"} ${cum}`);
      }
      out.push(`trellis_request_duration_ms_bucket{${s.labels},le="+Inf"} ${s.count}`);
      out.push(`trellis_request_duration_ms_sum{${s.labels}} ${s.sumMs}`);
      out.push(`trellis_request_duration_ms_count{${s.labels}} ${s.count}`);
    }
    const families = new Map<string, string[]>();
    for (const [k, v] of [...this.counters, ...extra]) {
      const fam = k.includes("{") ? k.slice(0, k.indexOf("{")) : k;
      let lines = families.get(fam);
      if (lines === undefined) families.set(fam, (lines = []));
      lines.push(`${k} ${v}`);
    }
    for (const [fam, lines] of families) {
      out.push(`# TYPE ${fam} ${fam.endsWith("_total") ? "counter" : "gauge"}`);
      out.push(...lines);
    }
    return out.join("\n") + "\n";
  }
}
