// Impact preview: which services and proxies a change touches, and what the last hour of recorded traffic
// says it would have done ("would have denied 1,240 requests/min from shop/frontend to shop/ratings";
// "sends 10% of 350 req/s to shop/reviews v2"). Pure over a MeshView plus one query for the proxies.
import {
  accessVerdict,
  effectiveBackends,
  matchesEverything,
  type AccessPolicyResource,
  type Impact,
  type Resource,
  type RouteResource,
} from "@trellis/contracts";
import type { Db } from "@trellis/db";
import { resourcesAfter, type MeshView } from "./mesh-view.js";
import { keyOf, type PlannedOp } from "./plan.js";

const SECONDS = 3600;

/** The impact of `ops` (the proxies listed come from one query on Workload, capped at `maxProxies`). */
export async function computeImpact(
  db: Db,
  view: MeshView,
  ops: readonly PlannedOp[],
  opts: { maxProxies?: number } = {},
): Promise<Impact> {
  const before = new Map<string, Resource>([...view.resources].map(([k, v]) => [k, v.resource]));
  const after = resourcesAfter(view, ops);
  const windowSeconds = Math.max(1, (view.to.getTime() - view.from.getTime()) / 1000) || SECONDS;

  // Services the change is about: each operation's target, before and after (an update may retarget).
  const targets = new Map<string, { namespace: string; name: string }>();
  let meshWide = false;
  for (const op of ops) {
    if (op.kind === "MeshSettings") {
      meshWide = true;
      continue;
    }
    for (const r of [before.get(keyOf(op)), after.get(keyOf(op))]) {
      if (r && r.kind !== "MeshSettings") {
        targets.set(`${r.metadata.namespace}/${r.spec.service}`, {
          namespace: r.metadata.namespace,
          name: r.spec.service,
        });
      }
    }
  }

  const rateTo = (ns: string, svc: string) =>
    view.traffic
      .filter((t) => t.destNamespace === ns && t.destService === svc)
      .reduce((a, t) => a + t.requests, 0) / windowSeconds;
  const registered = (ns: string, svc: string) =>
    view.services.some((s) => s.namespace === ns && s.name === svc);

  const services = [...targets.values()]
    .sort((a, b) => `${a.namespace}/${a.name}`.localeCompare(`${b.namespace}/${b.name}`))
    .map((t) => ({
      namespace: t.namespace,
      name: t.name,
      registered: registered(t.namespace, t.name),
      requestsPerSecond: round(rateTo(t.namespace, t.name)),
    }));

  // Proxies: the targets' own workloads, and (for Routes and DestinationPolicies, which callers enforce)
  // the workloads of services that called them in the window. MeshSettings reach every proxy.
  const callerKinds = new Set(["Route", "DestinationPolicy"]);
  const callers = new Map<string, { namespace: string; name: string }>();
  for (const op of ops) {
    if (!callerKinds.has(op.kind)) continue;
    for (const r of [before.get(keyOf(op)), after.get(keyOf(op))]) {
      if (!r || r.kind === "MeshSettings") continue;
      for (const t of view.traffic) {
        if (t.destNamespace === r.metadata.namespace && t.destService === r.spec.service && t.requests > 0) {
          callers.set(`${t.sourceNamespace}/${t.sourceService}`, {
            namespace: t.sourceNamespace,
            name: t.sourceService,
          });
        }
      }
    }
  }
  const wanted = [...targets.values(), ...callers.values()];
  const workloadRows =
    meshWide || wanted.length > 0
      ? await db.workload.findMany({
          where: meshWide
            ? {}
            : { service: { OR: wanted.map((w) => ({ namespace: w.namespace, name: w.name })) } },
          include: { service: { select: { namespace: true, name: true } } },
          orderBy: [
            { service: { namespace: "asc" } },
            { service: { name: "asc" } },
            { version: "asc" },
            { id: "asc" },
          ],
          take: opts.maxProxies ?? 1000,
        })
      : [];
  const proxies = workloadRows.map((w) => {
    const key = `${w.service.namespace}/${w.service.name}`;
    return {
      workloadId: w.id,
      namespace: w.service.namespace,
      service: w.service.name,
      version: w.version,
      address: w.address,
      status: w.status,
      role: targets.has(key)
        ? ("destination" as const)
        : meshWide && !callers.has(key)
          ? ("mesh" as const)
          : ("caller" as const),
    };
  });

  const access: Impact["access"] = [];
  const accessTotals: Impact["accessTotals"] = [];
  const routes: Impact["routes"] = [];
  ops.forEach((op, index) => {
    const prev = before.get(keyOf(op));
    const next = after.get(keyOf(op));
    if (op.kind === "AccessPolicy") {
      const target = (next ?? prev) as AccessPolicyResource | undefined;
      // Two operations on the same service's policies are judged together (before vs after the whole
      // change): the first one speaks for the service.
      const judged = (d: { destination: { namespace: string; service: string } }) =>
        target !== undefined &&
        d.destination.namespace === target.metadata.namespace &&
        d.destination.service === target.spec.service;
      if (target && !accessTotals.some(judged)) {
        const r = accessImpact(index, target, before, after, view, windowSeconds);
        access.push(...r.changed);
        accessTotals.push(r.total);
      }
    } else if (op.kind === "Route") {
      const target = (next ?? prev) as RouteResource | undefined;
      if (target)
        routes.push(routeImpact(index, target, next as RouteResource | undefined, view, windowSeconds));
    }
  });

  return {
    window: { from: view.from.toISOString(), to: view.to.toISOString() },
    services,
    proxies,
    access,
    accessTotals,
    routes,
  };
}

/**
 * For each caller seen in the window: its verdict under the service's AccessPolicies before and after (those
 * that differ), and the service's total: how many of the window's requests the change would have refused.
 */
function accessImpact(
  index: number,
  target: AccessPolicyResource,
  before: Map<string, Resource>,
  after: Map<string, Resource>,
  view: MeshView,
  windowSeconds: number,
): { changed: Impact["access"]; total: Impact["accessTotals"][number] } {
  const ns = target.metadata.namespace;
  const svc = target.spec.service;
  const policiesOf = (m: Map<string, Resource>) =>
    [...m.values()].filter(
      (r): r is AccessPolicyResource =>
        r.kind === "AccessPolicy" && r.metadata.namespace === ns && r.spec.service === svc,
    );
  const pBefore = policiesOf(before);
  const pAfter = policiesOf(after);
  // A TCP service's sidecar judges connections by caller only (contracts' accessVerdict says how).
  const protocol = view.services.find((s) => s.namespace === ns && s.name === svc)?.protocol ?? "http";
  const perCaller = new Map<string, { namespace: string; service: string; requests: number }>();
  for (const t of view.traffic) {
    if (t.destNamespace !== ns || t.destService !== svc) continue;
    const k = `${t.sourceNamespace}/${t.sourceService}`;
    const e = perCaller.get(k) ?? { namespace: t.sourceNamespace, service: t.sourceService, requests: 0 };
    e.requests += t.requests;
    perCaller.set(k, e);
  }
  // What the callee's sidecars observed each caller ask for (decision 006): rules by method or path are judged
  // against these, for callers whose every request in the window they account for.
  const observed = new Map<string, { method: string; path: string; requests: number }[]>();
  for (const a of view.access) {
    if (a.destNamespace !== ns || a.destService !== svc) continue;
    const k = `${a.sourceNamespace}/${a.sourceService}`;
    const list = observed.get(k) ?? [];
    observed.set(k, list);
    list.push(a);
  }
  const out: Impact["access"] = [];
  let requests = 0;
  let denied = 0;
  let partial = 0;
  for (const [k, c] of [...perCaller].sort(([a], [b]) => a.localeCompare(b))) {
    const caller = { namespace: c.namespace, service: c.service };
    const vb = accessVerdict(pBefore, caller, protocol);
    const va = accessVerdict(pAfter, caller, protocol);
    requests += c.requests;
    const obs = observed.get(k) ?? [];
    const byRequest =
      protocol === "http" &&
      (va === "partial" || vb === "partial") &&
      obs.reduce((a, o) => a + o.requests, 0) >= c.requests;
    let refusedObserved: number | null = null;
    if (byRequest) {
      // Each observed (method, prefix) on its own: refused, or refused for some paths under the prefix.
      let d = 0;
      let p = 0;
      for (const o of obs) {
        const ob = accessVerdict(pBefore, caller, protocol, o);
        const oa = accessVerdict(pAfter, caller, protocol, o);
        if (oa === "denied" && ob !== "denied") d += o.requests;
        else if (oa === "partial" && ob === "allowed") p += o.requests;
      }
      refusedObserved = d + p;
      denied += Math.min(d, c.requests);
      partial += Math.min(p, c.requests - Math.min(d, c.requests));
    } else {
      if (va === "denied" && vb !== "denied") denied += c.requests;
      if (va === "partial" && vb === "allowed") partial += c.requests;
    }
    if (vb === va) continue;
    const perMinute = (c.requests / windowSeconds) * 60;
    const shown = formatCount(perMinute);
    const unit = protocol === "tcp" ? "connections" : "requests";
    const summary =
      va === "denied"
        ? `would have denied ${shown} ${unit}/min from ${k} to ${ns}/${svc}`
        : va === "allowed"
          ? `would have allowed ${shown} ${unit}/min from ${k} to ${ns}/${svc} that were ${vb === "denied" ? "denied" : "partly denied"}`
          : refusedObserved === 0
            ? `would limit ${k} to some methods or paths of ${ns}/${svc}; none of its ${shown} requests/min observed in the last hour would have been refused`
            : `would have denied some (by method or path) of ${shown} requests/min from ${k} to ${ns}/${svc}`;
    out.push({
      operation: index,
      destination: { namespace: ns, service: svc },
      source: caller,
      before: vb,
      after: va,
      requestsPerMinute: round(perMinute),
      summary,
    });
  }
  const unit = protocol === "tcp" ? "connections" : "requests";
  const some = partial > 0 ? `, and some of ${formatCount(partial)} by method or path` : "";
  const total = {
    operation: index,
    destination: { namespace: ns, service: svc },
    requests,
    deniedRequests: denied,
    partialRequests: partial,
    summary: `would have refused ${formatCount(denied)} of the last hour's ${formatCount(requests)} ${unit} to ${ns}/${svc}${some}`,
  };
  return { changed: out, total };
}

/**
 * How the Route (or its absence, for a delete) splits the service's traffic between versions: the rule that
 * matches every request decides the share; rules with conditions before it take an unknown part of the
 * traffic (`conditional`). Without such a rule, or without backends, every workload gets an equal share.
 */
function routeImpact(
  index: number,
  target: RouteResource,
  next: RouteResource | undefined,
  view: MeshView,
  windowSeconds: number,
): Impact["routes"][number] {
  const ns = target.metadata.namespace;
  const svc = target.spec.service;
  const observed = new Map<string, number>();
  for (const t of view.traffic) {
    if (t.destNamespace === ns && t.destService === svc)
      observed.set(t.destVersion, (observed.get(t.destVersion) ?? 0) + t.requests);
  }
  const total = [...observed.values()].reduce((a, b) => a + b, 0);
  const rps = total / windowSeconds;

  const reg = view.services.find((s) => s.namespace === ns && s.name === svc);
  const equalShares = new Map<string, number>();
  const healthy = (reg?.versions ?? []).filter((v) => (v.healthyWorkloads ?? v.workloads) > 0);
  const workloadSum = healthy.reduce((a, v) => a + (v.healthyWorkloads ?? v.workloads), 0);
  for (const v of healthy) equalShares.set(v.version, (v.healthyWorkloads ?? v.workloads) / workloadSum);

  let shares = equalShares;
  let conditional = false;
  if (next) {
    const catchAll = next.spec.rules.findIndex((r) => matchesEverything(r.match));
    conditional = catchAll !== 0;
    const rule = catchAll >= 0 ? next.spec.rules[catchAll]! : undefined;
    const backends = rule ? effectiveBackends(rule) : undefined;
    if (backends) shares = new Map(backends.map((b) => [b.version, b.weight / 100]));
  }

  const names = [
    ...new Set([...observed.keys(), ...shares.keys(), ...(reg?.versions ?? []).map((v) => v.version)]),
  ].sort();
  const versions = names.map((version) => {
    const newShare = shares.get(version) ?? 0;
    return {
      version,
      observedShare: round(total > 0 ? (observed.get(version) ?? 0) / total : 0, 4),
      newShare: round(newShare, 4),
      requestsPerSecond: round(newShare * rps),
    };
  });
  const parts = versions
    .filter((v) => v.newShare > 0 && Math.abs(v.newShare - v.observedShare) >= 0.005)
    .map(
      (v) => `${formatCount(v.newShare * 100)}% of ${formatCount(rps)} req/s to ${ns}/${svc} ${v.version}`,
    );
  const summary =
    parts.length > 0
      ? `sends ${parts.join(", ")}${conditional ? " (of the requests no earlier rule matches)" : ""}`
      : `no change to how ${formatCount(rps)} req/s to ${ns}/${svc} split between versions`;
  return {
    operation: index,
    namespace: ns,
    service: svc,
    requestsPerSecond: round(rps),
    versions,
    conditional,
    summary,
  };
}

function round(n: number, digits = 2): number {
  const f = 10 ** digits;
  return Math.round(n * f) / f;
}

/**
 * `1240` → `1,240`; below 10 keeps one decimal; below 0.1 two significant digits, so that light traffic (an
 * hour's window makes 50 calls 0.014 req/s) does not read as "10% of 0 req/s".
 */
export function formatCount(n: number): string {
  if (n >= 10) return Math.round(n).toLocaleString("en-US");
  if (n === 0 || n >= 0.1) return String(round(n, 1));
  return String(Number(n.toPrecision(2)));
}
