// Request metrics per (direction, source, destination, protocol, response code): a count and a latency histogram, plus TCP
// and proxy-health counters. Series objects are created once per label set and then only incremented; label
// strings are rendered when the series is created, not on every scrape or request. The control plane gets
// deltas (`drainTelemetry`): each series remembers what it last reported, so a report costs one pass over the
// series and nothing on the request path. Which families exist, with their type and HELP text, is families.ts.
import { LATENCY_BUCKETS_MS, type TelemetrySeries } from "@trellis/contracts/proxy";
import { P_HTTP1, protocolName } from "./protocol.js";
import { AccessObservations, type CallerAccess } from "./access.js";
import {
  FAMILIES,
  REQUEST_FAMILIES,
  type CounterFamily,
  type FamilyName,
  type GaugeFamily,
  type ScalarFamily,
} from "./families.js";

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

/** A label value in the text format: backslash, double quote and line feed escaped. */
export const escapeLabelValue = (v: string) =>
  v.replace(/\\/g, "\\\\").replace(/"/g, '\\"').replace(/\n/g, "\\n");
const esc = escapeLabelValue;
/** HELP text in the text format: backslash and line feed escaped (quotes are not). */
export const escapeHelp = (v: string) => v.replace(/\\/g, "\\\\").replace(/\n/g, "\\n");

/** `a="x",b="y"`: made once per label set (at config time or per scrape), never per request. */
export function labelPairs(labels: Readonly<Record<string, string>>): string {
  return Object.entries(labels)
    .map(([k, v]) => `${k}="${esc(v)}"`)
    .join(",");
}

const NAMES = Object.keys(FAMILIES) as FamilyName[];
/** `# HELP` and `# TYPE` of each family, rendered once. */
const HEADERS = new Map<FamilyName, string>(
  NAMES.map((n) => [n, `# HELP ${n} ${escapeHelp(FAMILIES[n].help)}\n# TYPE ${n} ${FAMILIES[n].type}`]),
);
/** Counters and gauges: one number per label set. */
const SCALAR = new Set<FamilyName>(
  NAMES.filter(
    (n) => FAMILIES[n].type !== "histogram" && !(REQUEST_FAMILIES as readonly string[]).includes(n),
  ),
);

export class UnknownFamilyError extends Error {
  override readonly name = "UnknownFamilyError";
  constructor(family: string) {
    super(`metric family "${family}" is not a counter or gauge of telemetry/families.ts`);
  }
}

/** One sample of a counter or gauge: family, label pairs (`labelPairs`, "" for none), value. */
export type Sample = readonly [family: ScalarFamily, labels: string, value: number];

/** All requests between one source and one destination over one protocol, split by response code. */
export class RequestSeries {
  private readonly byStatus = new Map<number, StatusSeries>();
  /** Inbound series only: where the caller's methods and paths are counted (telemetry/access.ts). */
  access: CallerAccess | null = null;
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
  /** Inbound requests by caller, method and path prefix, for the control plane only (not scraped). */
  readonly access = new AccessObservations();
  /** Counters and gauges kept here, by family, then by label pairs. Every family has its map from the start, so
   * `add` is two lookups and no string building, and a name that is not a family fails at once. */
  private readonly scalars = new Map<FamilyName, Map<string, number>>([...SCALAR].map((n) => [n, new Map()]));

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

  /** Adds to a counter. `labels`: label pairs made once by the caller (`labelPairs`), "" for none. */
  add(family: CounterFamily, labels = "", by = 1): void {
    const m = this.scalars.get(family);
    if (m === undefined) throw new UnknownFamilyError(family);
    m.set(labels, (m.get(labels) ?? 0) + by);
  }
  /** Sets a gauge. */
  set(family: GaugeFamily, labels: string, v: number): void {
    const m = this.scalars.get(family);
    if (m === undefined) throw new UnknownFamilyError(family);
    m.set(labels, v);
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

  /**
   * Prometheus text exposition format 0.0.4: each family of families.ts that has samples, in that table's
   * order, as `# HELP`, `# TYPE`, then its samples. Families without samples are left out (as client_golang
   * does). `extra`: counters and gauges read at scrape time; a sample of an unregistered family throws rather
   * than being served without HELP and TYPE.
   */
  render(extra: Iterable<Sample> = []): string {
    const lines = new Map<FamilyName, string[]>(NAMES.map((n) => [n, []]));
    const requests = lines.get("trellis_requests_total")!;
    const durations = lines.get("trellis_request_duration_ms")!;
    for (const rs of this.series.values()) {
      for (const s of rs.statuses()) {
        requests.push(`trellis_requests_total{${s.labels}} ${s.count}`);
        let cum = 0;
        for (let i = 0; i < BUCKETS_MS.length; i++) {
          cum += s.buckets[i]!;
          durations.push(`trellis_request_duration_ms_bucket{${s.labels},le="${BUCKETS_MS[i]}"} ${cum}`);
        }
        durations.push(`trellis_request_duration_ms_bucket{${s.labels},le="+Inf"} ${s.count}`);
        durations.push(`trellis_request_duration_ms_sum{${s.labels}} ${s.sumMs}`);
        durations.push(`trellis_request_duration_ms_count{${s.labels}} ${s.count}`);
      }
    }
    for (const [family, byLabels] of this.scalars) {
      const out = lines.get(family)!;
      for (const [labels, v] of byLabels) out.push(sampleLine(family, labels, v));
    }
    for (const [family, labels, v] of extra) {
      if (!SCALAR.has(family)) throw new UnknownFamilyError(family);
      lines.get(family)!.push(sampleLine(family, labels, v));
    }
    const out: string[] = [];
    for (const [family, samples] of lines) {
      if (samples.length === 0) continue;
      out.push(HEADERS.get(family)!, samples.join("\n")); // not a spread: a family may have 100k+ lines
    }
    return out.length === 0 ? "" : out.join("\n") + "\n";
  }
}

const sampleLine = (family: FamilyName, labels: string, v: number) =>
  labels === "" ? `${family} ${v}` : `${family}{${labels}} ${v}`;
