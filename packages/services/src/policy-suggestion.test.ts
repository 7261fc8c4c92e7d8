// "Restrict callers to what was observed" against real telemetry rows in a real PostgreSQL: the suggestion
// allows exactly the identities seen in the window (no more, no fewer), says what it cannot allow, takes over
// its own earlier policy, never widens access, and its impact preview refuses none of the last hour's calls.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  accessVerdict,
  ZAccessPolicyResource,
  type AccessPolicyResource,
  type Role,
} from "@trellis/contracts";
import { createDb, type Db } from "@trellis/db";
import { createTestDatabase, type TestDatabase } from "@trellis/db/testing";
import {
  actorForUser,
  AppError,
  approveChange,
  createChange,
  previewChange,
  suggestAccessPolicy,
  type Actor,
} from "./index.js";
import { seedAccessRollups, seedRollups } from "./testing.js";

// A database of its own: the users made here would break services.test.ts's bootstrap, which expects none.
let tdb: TestDatabase;
let db: Db;
const NS = "sg-shop";
const OPS = "sg-ops";
const EVIL = "sg-evil";
const BASE = Math.floor(Date.now() / 60_000) * 60_000;
const minuteAgo = (n: number) => new Date(BASE - n * 60_000);
/** About ten days back, never on a 10-minute boundary: so only the per-minute rows can tell its minute. */
const BATCH_AGO = 10 * 24 * 60 + ((BASE / 60_000) % 10 === 3 ? 4 : 3);
const actors: Record<string, Actor> = {};

const code = (p: Promise<unknown>) =>
  p.then(
    () => "ok",
    (e: unknown) => (e instanceof AppError ? e.code : `unexpected: ${String(e)}`),
  );

/**
 * One call edge as both sidecars report it (the callee's inbound report, and the caller's outbound one unless
 * it has no sidecar), `n` requests in the minute `ago` minutes back.
 */
async function calls(
  src: [string, string],
  dst: [string, string],
  n: number,
  ago: number,
  mtls = n,
  reporters: ("inbound" | "outbound")[] = src[0] === "unknown" ? ["inbound"] : ["inbound", "outbound"],
) {
  for (const reporter of reporters)
    await seedRollups(db, {
      bucket: minuteAgo(ago),
      reporter,
      source: src,
      destination: dst,
      protocol: "http1",
      requests: n,
      mtlsRequests: mtls,
    });
}

async function user(name: string, bindings: { role: Role; namespace: string }[]): Promise<Actor> {
  const u = await db.user.create({ data: { name, roleBindings: { create: bindings } } });
  return actorForUser(db, u.id, { via: "api" });
}

const ratings: [string, string] = [NS, "ratings"];

beforeAll(async () => {
  tdb = await createTestDatabase("services_suggest");
  db = createDb(tdb.url);
  for (const [ns, name] of [
    ratings,
    [NS, "web"],
    [NS, "reviews"],
    [NS, "cart"],
    [NS, "lonely"],
    [NS, "vault"],
    [OPS, "batch"],
  ])
    await db.service.create({ data: { namespace: ns!, name: name! } });
  // In the last hour and the last day: web and reviews (reviews partly over several minutes).
  await calls([NS, "web"], ratings, 120, 5);
  await calls([NS, "reviews"], ratings, 30, 20);
  await calls([NS, "reviews"], ratings, 10, 3);
  // Ten days ago only: batch (inside 30d, outside 24h).
  await calls([OPS, "batch"], ratings, 50, BATCH_AGO);
  // cart calls web, never ratings: it must not be allowed to call ratings.
  await calls([NS, "cart"], [NS, "web"], 40, 4);
  // A plaintext caller (permissive mTLS): no identity, only the callee reports it.
  await calls(["unknown", "unknown"], ratings, 7, 6, 0);
  // vault: web calls it; a proxy of another namespace claims 500 calls that vault's sidecars never saw.
  await calls([NS, "web"], [NS, "vault"], 9, 2);
  await calls([EVIL, "spy"], [NS, "vault"], 500, 2, 500, ["outbound"]);
  actors.viewer = await user("sg-viewer", [{ role: "viewer", namespace: NS }]);
  actors.other = await user("sg-other", [{ role: "editor", namespace: OPS }]);
  actors.editor = await user("sg-editor", [{ role: "editor", namespace: NS }]);
  actors.approver = await user("sg-approver", [{ role: "approver", namespace: NS }]);
});

afterAll(async () => {
  await db?.$disconnect();
  await tdb?.drop();
});

const allowedFrom = (r: AccessPolicyResource | null) =>
  (r?.spec.allow ?? []).flatMap((rule) => rule.from ?? []).map((s) => `${s.namespace}/${s.service}`);

describe("suggestAccessPolicy", () => {
  it("allows exactly the identities seen calling the service in the window", async () => {
    const s = await suggestAccessPolicy(db, actors.viewer!, { namespace: NS, service: "ratings" });
    expect(s.window.length).toBe("24h");
    expect(ZAccessPolicyResource.parse(s.resource)).toEqual(s.resource);
    expect(s.resource).toEqual({
      apiVersion: "trellis.dev/v1alpha1",
      kind: "AccessPolicy",
      metadata: { name: "ratings-observed", namespace: NS },
      spec: {
        service: "ratings",
        allow: [
          {
            from: [
              { namespace: NS, service: "reviews" },
              { namespace: NS, service: "web" },
            ],
          },
        ],
      },
    });
    expect(s.operation).toEqual({ action: "create", resource: s.resource });
    expect(s.granularity).toBe("identity");
    // The evidence: every caller, sorted, with counts (the callee's report), last seen and why it is in or out.
    expect(s.callers.map((c) => [`${c.namespace}/${c.service}`, c.requests, c.status])).toEqual([
      [`${NS}/reviews`, 40, "allowed"],
      [`${NS}/web`, 120, "allowed"],
      ["unknown/unknown", 7, "no-identity"],
    ]);
    expect(s.callers[0]!.lastSeen).toBe(minuteAgo(3).toISOString());
    expect(s.callers[2]!.mtlsShare).toBe(0);
    expect(s.warnings).toEqual([
      expect.stringMatching(/^7 requests came from callers without a mesh identity/),
    ]);
    expect(s.description).toContain(`(24h), by mesh identity: ${NS}/reviews, ${NS}/web.`);
    expect(s.title).toBe(`Restrict callers of ${NS}/ratings to those observed in the last 24h`);
  });

  it("would fail if it allowed an unobserved caller or missed an observed one", async () => {
    for (const [window, seen] of [
      ["24h", [`${NS}/reviews`, `${NS}/web`]],
      ["30d", [`${OPS}/batch`, `${NS}/reviews`, `${NS}/web`]],
      // web's calls are in the minute 5 minutes before BASE: a 6-minute window still holds that minute when
      // the clock has moved on a minute since BASE was taken (a "5m" window lost it then, as it should).
      ["6m", [`${NS}/reviews`, `${NS}/web`]],
    ] as const) {
      const s = await suggestAccessPolicy(db, actors.viewer!, { namespace: NS, service: "ratings", window });
      expect(allowedFrom(s.resource), window).toEqual(seen);
      // What the sidecar will decide, for every registered service and the anonymous caller.
      for (const [ns, svc] of [
        [NS, "web"],
        [NS, "reviews"],
        [NS, "cart"],
        [NS, "lonely"],
        [OPS, "batch"],
        ["unknown", "unknown"],
      ] as const) {
        const verdict = accessVerdict([s.resource!], { namespace: ns, service: svc });
        expect(verdict, `${window} ${ns}/${svc}`).toBe(
          (seen as readonly string[]).includes(`${ns}/${svc}`) ? "allowed" : "denied",
        );
      }
    }
  });

  it("reads whole 10-minute buckets from the edge rollup, yet knows each caller's last minute", async () => {
    // Ten days back, batch's calls lie in the coarse part of a 30-day window; reviews' in both parts.
    const s = await suggestAccessPolicy(db, actors.viewer!, {
      namespace: NS,
      service: "ratings",
      window: "30d",
    });
    expect(s.callers.map((c) => [`${c.namespace}/${c.service}`, c.requests, c.lastSeen])).toEqual([
      [`${OPS}/batch`, 50, minuteAgo(BATCH_AGO).toISOString()],
      [`${NS}/reviews`, 40, minuteAgo(3).toISOString()],
      [`${NS}/web`, 120, minuteAgo(5).toISOString()],
      ["unknown/unknown", 7, minuteAgo(6).toISOString()],
    ]);
    // A window reaching back past the oldest telemetry says so (other files' rows share this database).
    const oldest = (await db.telemetryRollup.aggregate({ _min: { bucket: true } }))._min.bucket!;
    const short = oldest.getTime() > new Date(s.window.from).getTime() + 60_000;
    expect(s.warnings.some((w) => w.includes("telemetry only goes back to"))).toBe(short);
  });

  it("takes only the service's own sidecars' word: a caller's report about itself allows nothing", async () => {
    const s = await suggestAccessPolicy(db, actors.viewer!, { namespace: NS, service: "vault" });
    expect(allowedFrom(s.resource)).toEqual([`${NS}/web`]);
    expect(s.callers.map((c) => `${c.namespace}/${c.service} ${c.requests} ${c.status}`)).toEqual([
      `${EVIL}/spy 500 unconfirmed`,
      `${NS}/web 9 allowed`,
    ]);
    expect(s.warnings).toEqual([
      `${EVIL}/spy: only its own sidecar reported calling ${NS}/vault, whose sidecars never saw it; a caller's word about itself is no evidence, so left out`,
    ]);
  });

  it("proposes nothing when no caller with an identity was seen, and says why", async () => {
    const s = await suggestAccessPolicy(db, actors.viewer!, { namespace: NS, service: "lonely" });
    expect(s.resource).toBeNull();
    expect(s.operation).toBeNull();
    expect(s.warnings[0]).toMatch(/^no caller with a mesh identity was seen calling sg-shop\/lonely/);
  });

  it("needs read access to the namespace, a bounded window, and a known service", async () => {
    expect(await code(suggestAccessPolicy(db, actors.other!, { namespace: NS, service: "ratings" }))).toBe(
      "FORBIDDEN",
    );
    for (const window of ["1m", "31d", "24", "1w"])
      expect(
        await code(suggestAccessPolicy(db, actors.viewer!, { namespace: NS, service: "ratings", window })),
        window,
      ).toBe("VALIDATION_FAILED");
    expect(await code(suggestAccessPolicy(db, actors.viewer!, { namespace: NS, service: "nope" }))).toBe(
      "NOT_FOUND",
    );
  });

  it("proposes through a change request whose preview refuses none of the last hour's identified calls", async () => {
    const s = await suggestAccessPolicy(db, actors.editor!, { namespace: NS, service: "ratings" });
    // A viewer may look, not propose: createChange keeps its own rules.
    expect(
      await code(
        createChange(db, actors.viewer!, {
          title: s.title,
          description: s.description,
          operations: [s.operation!],
        }),
      ),
    ).toBe("FORBIDDEN");
    const p = await previewChange(db, actors.editor!, { operations: [s.operation!] });
    expect(p.validation.errors).toEqual([]);
    // The plaintext caller is the only one refused, and the preview says so; identified callers keep theirs.
    expect(p.impact.access.map((a) => `${a.source.namespace}/${a.source.service} ${a.after}`)).toEqual([
      "unknown/unknown denied",
    ]);
    expect(p.impact.accessTotals).toEqual([
      {
        operation: 0,
        destination: { namespace: NS, service: "ratings" },
        requests: 167,
        deniedRequests: 7,
        partialRequests: 0,
        summary: `would have refused 7 of the last hour's 167 requests to ${NS}/ratings`,
      },
    ]);
    const c = await createChange(db, actors.editor!, {
      title: s.title,
      description: s.description,
      operations: [s.operation!],
    });
    expect(c.status).toBe("open");
    await approveChange(db, actors.approver!, { id: c.id });
  });

  it("then updates its own policy (keeping its deny rules) and never widens what others decide", async () => {
    // The applied suggestion gains a deny rule by hand; another policy limits web to GET and lets all of
    // sg-ops in; a third refuses reviews.
    const ap = (name: string, spec: Record<string, unknown>) => ({
      apiVersion: "trellis.dev/v1alpha1",
      kind: "AccessPolicy",
      metadata: { name, namespace: NS },
      spec: { service: "ratings", ...spec },
    });
    const c = await createChange(db, actors.editor!, {
      title: "hand edits",
      operations: [
        {
          action: "update",
          baseRevision: 1,
          resource: ap("ratings-observed", {
            allow: [{ from: [{ namespace: NS, service: "web" }] }],
            deny: [{ paths: ["/admin/*"] }],
          }),
        },
        {
          action: "create",
          resource: ap("web-reads", {
            allow: [{ from: [{ service: "web" }], methods: ["GET"] }, { from: [{ namespace: OPS }] }],
          }),
        },
        { action: "create", resource: ap("no-reviews", { deny: [{ from: [{ service: "reviews" }] }] }) },
      ],
    });
    await approveChange(db, actors.approver!, { id: c.id });

    const s = await suggestAccessPolicy(db, actors.viewer!, { namespace: NS, service: "ratings" });
    expect(s.callers.map((c) => `${c.namespace}/${c.service} ${c.status}`)).toEqual([
      `${NS}/reviews denied-now`,
      `${NS}/web limited-elsewhere`,
      "unknown/unknown no-identity",
    ]);
    // Nobody left to allow by identity: nothing proposed rather than a policy that widens or refuses all.
    expect(s.resource).toBeNull();
    expect(s.warnings).toEqual([
      expect.stringMatching(/^no caller with a mesh identity/),
      expect.stringMatching(/^7 requests came from callers without a mesh identity/),
      `${NS}/reviews: refused by the AccessPolicies in force now, so left out (they stay refused)`,
      `${NS}/web: allowed only some methods or paths by other AccessPolicies, which keep deciding for them`,
      "AccessPolicy web-reads also allows every service of namespace sg-ops, not seen in the window: it stays allowed while that policy is in force",
    ]);

    // Over 30 days batch was seen too: it is allowed by identity, in an update of the suggestion's own policy
    // against the revision in force, its deny rule kept.
    const month = await suggestAccessPolicy(db, actors.viewer!, {
      namespace: NS,
      service: "ratings",
      window: "30d",
    });
    expect(month.operation).toEqual({
      action: "update",
      baseRevision: 2,
      resource: {
        apiVersion: "trellis.dev/v1alpha1",
        kind: "AccessPolicy",
        metadata: { name: "ratings-observed", namespace: NS },
        spec: {
          service: "ratings",
          allow: [{ from: [{ namespace: OPS, service: "batch" }] }],
          deny: [{ paths: ["/admin/*"] }],
        },
      },
    });
    expect(month.current).toEqual({
      service: "ratings",
      allow: [{ from: [{ namespace: NS, service: "web" }] }],
      deny: [{ paths: ["/admin/*"] }],
    });
    // web keeps its GETs through web-reads, reviews stays refused: none of the last hour's calls changes fate.
    const p = await previewChange(db, actors.editor!, { operations: [month.operation!] });
    expect(p.impact.accessTotals[0]).toMatchObject({ deniedRequests: 0, partialRequests: 0 });
  });
});

describe("suggestAccessPolicy with methods and paths (decision 006)", () => {
  const menu: [string, string] = [NS, "menu"];
  /** An access observation as the callee's sidecars report it: `n` requests in the minute `ago` minutes back. */
  const observe = (src: [string, string], method: string, path: string, n: number, ago: number) =>
    seedAccessRollups(db, {
      bucket: minuteAgo(ago),
      source: src,
      destination: menu,
      method,
      path,
      requests: n,
    });
  /** What each caller asked, as observations (method, prefix, n), and a concrete request under each prefix. */
  const seen: Record<string, [string, string, number][]> = {
    web: [
      ["GET", "/api/*", 20],
      ["POST", "/api/*", 5],
      ["GET", "/", 3],
    ],
    reviews: [["GET", "/health", 4]],
    // A method outside the standard set: no rule can name it, so web-hooks may use any method on /hooks/*.
    hooks: [
      ["OTHER", "/hooks/*", 2],
      ["POST", "/hooks/*", 2],
    ],
  };
  const concrete = (p: string) => (p.endsWith("/*") ? `${p.slice(0, -1)}items/1?q=1` : p);

  beforeAll(async () => {
    await db.service.create({ data: { namespace: NS, name: "menu" } });
    await db.service.create({ data: { namespace: NS, name: "hooks" } });
    await db.service.create({ data: { namespace: NS, name: "legacy" } });
    for (const [caller, obs] of Object.entries(seen)) {
      const total = obs.reduce((a, [, , n]) => a + n, 0);
      // Split over two minutes, observations and series alike, as two reports would be.
      await calls([NS, caller], menu, total - 1, 7);
      await calls([NS, caller], menu, 1, 8);
      for (const [i, [m, p, n]] of obs.entries()) {
        if (i === 0) {
          await observe([NS, caller], m, p, n - 1, 7);
          await observe([NS, caller], m, p, 1, 8);
        } else await observe([NS, caller], m, p, n, 7);
      }
    }
    // cart: 12 requests, of which a proxy that records observations saw 5 (the others went to an older one).
    await calls([NS, "cart"], menu, 12, 9);
    await observe([NS, "cart"], "GET", "/api/*", 5, 9);
    // legacy: seen only before observations were recorded, or through older proxies: none at all.
    await calls([NS, "legacy"], menu, 6, 10);
  });

  it("allows each caller exactly the methods and path prefixes it was seen with, and identity where unobserved", async () => {
    const s = await suggestAccessPolicy(db, actors.viewer!, {
      namespace: NS,
      service: "menu",
      methods: true,
      paths: true,
    });
    expect(s.granularity).toBe("methods-and-paths");
    expect(s.resource!.spec.allow).toEqual([
      {
        from: [
          { namespace: NS, service: "cart" },
          { namespace: NS, service: "legacy" },
        ],
      },
      { from: [{ namespace: NS, service: "hooks" }], paths: ["/hooks/*"] },
      { from: [{ namespace: NS, service: "reviews" }], methods: ["GET"], paths: ["/health"] },
      { from: [{ namespace: NS, service: "web" }], methods: ["GET", "POST"], paths: ["/api/*"] },
      { from: [{ namespace: NS, service: "web" }], methods: ["GET"], paths: ["/"] },
    ]);
    expect(ZAccessPolicyResource.parse(s.resource)).toEqual(s.resource);
    expect(s.callers.find((c) => c.service === "cart")?.observed).toEqual({
      methods: ["GET"],
      paths: ["/api/*"],
      requests: 5,
      complete: false,
    });
    expect(s.warnings.join("\n")).toMatch(
      new RegExp(`${NS}/cart, ${NS}/legacy: the service's sidecars recorded methods and paths for only part`),
    );
    expect(s.warnings.join("\n")).toMatch(
      new RegExp(`${NS}/hooks: seen with methods outside the standard set`),
    );

    // The verdict the sidecars enforce (contracts' accessVerdict, per request) lets every observed request
    // through, by its prefix and by a concrete path under it, and refuses what was not seen.
    const policy = [s.resource!];
    for (const [caller, obs] of Object.entries(seen))
      for (const [method, path] of obs) {
        const m = method === "OTHER" ? "PURGE" : method;
        for (const p of [path, concrete(path)])
          expect({
            caller,
            m,
            p,
            v: accessVerdict(policy, { namespace: NS, service: caller }, "http", { method: m, path: p }),
          }).toEqual({ caller, m, p, v: "allowed" });
      }
    const web = { namespace: NS, service: "web" };
    expect(accessVerdict(policy, web, "http", { method: "DELETE", path: "/api/items/1" })).toBe("denied");
    expect(accessVerdict(policy, web, "http", { method: "POST", path: "/" })).toBe("denied");
    expect(accessVerdict(policy, web, "http", { method: "GET", path: "/admin/x" })).toBe("denied");
    expect(accessVerdict(policy, web, "http", { method: "GET", path: "/apix" })).toBe("denied");
    const reviews = { namespace: NS, service: "reviews" };
    expect(accessVerdict(policy, reviews, "http", { method: "GET", path: "/health/deep" })).toBe("denied");
    // The callers observed only in part keep every request.
    expect(
      accessVerdict(policy, { namespace: NS, service: "cart" }, "http", { method: "DELETE", path: "/x" }),
    ).toBe("allowed");
  });

  it("narrows by methods or by paths alone", async () => {
    const m = await suggestAccessPolicy(db, actors.viewer!, {
      namespace: NS,
      service: "menu",
      methods: true,
    });
    expect(m.granularity).toBe("methods");
    expect(m.resource!.spec.allow).toEqual([
      {
        from: [
          { namespace: NS, service: "cart" },
          { namespace: NS, service: "hooks" },
          { namespace: NS, service: "legacy" },
        ],
      },
      { from: [{ namespace: NS, service: "reviews" }], methods: ["GET"] },
      { from: [{ namespace: NS, service: "web" }], methods: ["GET", "POST"] },
    ]);
    const p = await suggestAccessPolicy(db, actors.viewer!, { namespace: NS, service: "menu", paths: true });
    expect(p.resource!.spec.allow).toEqual([
      {
        from: [
          { namespace: NS, service: "cart" },
          { namespace: NS, service: "legacy" },
        ],
      },
      { from: [{ namespace: NS, service: "hooks" }], paths: ["/hooks/*"] },
      { from: [{ namespace: NS, service: "reviews" }], paths: ["/health"] },
      { from: [{ namespace: NS, service: "web" }], paths: ["/", "/api/*"] },
    ]);
    // Without the options: identity only, as before.
    const i = await suggestAccessPolicy(db, actors.viewer!, { namespace: NS, service: "menu" });
    expect(i.granularity).toBe("identity");
    expect(i.resource!.spec.allow).toHaveLength(1);
  });

  it("previews as refusing none of the last hour's requests, judged by what was observed", async () => {
    const s = await suggestAccessPolicy(db, actors.editor!, {
      namespace: NS,
      service: "menu",
      methods: true,
      paths: true,
    });
    const p = await previewChange(db, actors.editor!, { operations: [s.operation!] });
    expect(p.validation.errors).toEqual([]);
    expect(p.impact.accessTotals).toEqual([
      {
        operation: 0,
        destination: { namespace: NS, service: "menu" },
        requests: 54,
        deniedRequests: 0,
        partialRequests: 0,
        summary: `would have refused 0 of the last hour's 54 requests to ${NS}/menu`,
      },
    ]);
  });
});
