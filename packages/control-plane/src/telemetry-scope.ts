// Which series of a telemetry report are stored. A report is one proxy's word, and what it says ends up in
// every graph and change preview of the namespaces it names: a proxy may only speak for traffic it can have
// taken part in, with numbers its counters can produce. Everything else is refused here, counted by reason,
// and never stored.
import {
  formatPath,
  ZAccessObservation,
  ZTelemetrySeries,
  type AccessObservation,
  type TelemetrySeries,
} from "@trellis/contracts";

/** The reporting proxy, as its hello (checked against its join token's scope) made it. */
export interface Reporter {
  namespace: string;
  service: string;
  version: string;
}

export interface Screened {
  accepted: TelemetrySeries[];
  /** Refused series by reason (a few words each; the first few distinct reasons only, see MAX_REASONS). */
  reasons: Map<string, number>;
  refused: number;
}

/** Distinct reasons kept per report: enough to say what is wrong, not a second copy of a hostile report. */
const MAX_REASONS = 5;

/**
 * Keeps the series `me` took part in:
 * - well-formed and within bounds (`ZTelemetrySeries`: names, counts, buckets that add up);
 * - outbound: `me` is the source, and the destination is a service its config lets it call (`carries`), or
 *   `unknown` (a call to a service it has no route for, answered by its own sidecar);
 * - inbound: `me` is the destination, and the source a registered service (`known`; its sidecar names a
 *   caller by the SPIFFE ID the mesh CA issued it) or `unknown` (a caller without a sidecar).
 *
 * An outbound series to a service of another namespace is still only the caller's word: readers that judge
 * that namespace (change previews) weigh it against the callee's own inbound report.
 */
export function screenReport(
  raw: readonly unknown[],
  me: Reporter,
  carries: (namespace: string, service: string) => boolean,
  known: (namespace: string, service: string) => boolean,
): Screened {
  const accepted: TelemetrySeries[] = [];
  const reasons = new Map<string, number>();
  let refused = 0;
  const refuse = (reason: string) => {
    refused++;
    if (reasons.has(reason) || reasons.size < MAX_REASONS)
      reasons.set(reason, (reasons.get(reason) ?? 0) + 1);
  };
  const isMe = (w: Reporter) =>
    w.namespace === me.namespace && w.service === me.service && w.version === me.version;
  for (const r of raw) {
    const parsed = ZTelemetrySeries.safeParse(r);
    if (!parsed.success) {
      const i = parsed.error.issues[0]!;
      refuse(`invalid ${formatPath(i.path)}: ${i.message}`);
      continue;
    }
    const s = parsed.data;
    if (s.reporter === "outbound") {
      if (!isMe(s.source)) {
        refuse("an outbound series must have the reporting proxy as its source");
        continue;
      }
      const d = s.destination;
      const unknown = d.namespace === "unknown" && d.service === "unknown";
      if (!unknown && !carries(d.namespace, d.service)) {
        refuse(`destination ${d.namespace}/${d.service} is not in its config`);
        continue;
      }
    } else if (!isMe(s.destination)) {
      refuse("an inbound series must have the reporting proxy as its destination");
      continue;
    } else if (s.source.service !== "unknown" && !known(s.source.namespace, s.source.service)) {
      refuse(`source ${s.source.namespace}/${s.source.service} is no service of the mesh`);
      continue;
    }
    accepted.push(s);
  }
  return { accepted, reasons, refused };
}

/**
 * Keeps the access observations (decision 006) `me` can have made: well-formed and within bounds
 * (`ZAccessObservation`), about requests to `me`'s own service (only the callee observes, by the certificate it
 * checked), from a registered service or `unknown`. The version is not in an observation: any replica of the
 * service speaks for it.
 */
export function screenAccess(
  raw: readonly unknown[],
  me: Reporter,
  known: (namespace: string, service: string) => boolean,
): { accepted: AccessObservation[]; reasons: Map<string, number>; refused: number } {
  const accepted: AccessObservation[] = [];
  const reasons = new Map<string, number>();
  let refused = 0;
  const refuse = (reason: string) => {
    refused++;
    if (reasons.has(reason) || reasons.size < MAX_REASONS)
      reasons.set(reason, (reasons.get(reason) ?? 0) + 1);
  };
  for (const r of raw) {
    const parsed = ZAccessObservation.safeParse(r);
    if (!parsed.success) {
      const i = parsed.error.issues[0]!;
      refuse(`invalid ${formatPath(["access", ...i.path])}: ${i.message}`);
      continue;
    }
    const o = parsed.data;
    if (o.destination.namespace !== me.namespace || o.destination.service !== me.service) {
      refuse("an access observation must have the reporting proxy's service as its destination");
      continue;
    }
    const anonymous = o.source.namespace === "unknown" && o.source.service === "unknown";
    if (!anonymous && !known(o.source.namespace, o.source.service)) {
      refuse(`access source ${o.source.namespace}/${o.source.service} is no service of the mesh`);
      continue;
    }
    accepted.push(o);
  }
  return { accepted, reasons, refused };
}

/** `reason (n); reason (n)`: for the log line and the proxy's error message. */
export function describeReasons(reasons: ReadonlyMap<string, number>): string {
  return [...reasons].map(([r, n]) => `${r} (${n})`).join("; ");
}
