// Request metrics per (direction, source, destination, response code): a count and a latency histogram, plus TCP
// and proxy-health counters. Series objects are created once per label set and then only incremented; label
// strings are rendered when the series is created, not on every scrape or request.

/** Histogram bounds in milliseconds. */
export const BUCKETS_MS = [0.5, 1, 2, 5, 10, 25, 50, 100, 250, 500, 1000, 2500, 5000, 10000, 30000, 60000];

class StatusSeries {
  count = 0;
  sumMs = 0;
  readonly buckets = new Float64Array(BUCKETS_MS.length);
  constructor(readonly labels: string) {}
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

/** All requests between one source and one destination, split by response code. */
export class RequestSeries {
  private readonly byStatus = new Map<number, StatusSeries>();
  constructor(private readonly labels: string) {}
  record(status: number, ms: number): void {
    let s = this.byStatus.get(status);
    if (s === undefined) {
      s = new StatusSeries(`${this.labels},response_code="${status}"`);
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

  requestSeries(direction: Direction, src: PeerLabels, dst: PeerLabels): RequestSeries {
    const labels =
      `direction="${direction}",source_namespace="${esc(src.namespace)}",source_service="${esc(src.service)}",source_version="${esc(src.version)}",` +
      `destination_namespace="${esc(dst.namespace)}",destination_service="${esc(dst.service)}",destination_version="${esc(dst.version)}"`;
    let s = this.series.get(labels);
    if (s === undefined) {
      s = new RequestSeries(labels);
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

  /** Prometheus text exposition format 0.0.4. */
  render(extra: Iterable<[string, number]> = []): string {
    const out: string[] = [];
    out.push("# HELP trellis_requests_total Requests handled, by source, destination and response code.");
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
