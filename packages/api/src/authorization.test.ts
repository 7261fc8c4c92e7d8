// Who may call what: every procedure of appRouter × every kind of caller, allowed or denied with the exact
// code, through the real edges (the console's tRPC handler with a session, REST with a bearer token) over
// real HTTP, against a real PostgreSQL (a database of this file's own).
//
// Edit RULES when adding a procedure: a procedure without a row fails here with its name (and the type
// check fails too). The expected outcomes come from the role model of issue 5, written out in `expected`
// below, not from the code under test:
//   viewer reads · editor proposes changes · approver approves or rejects other people's changes ·
//   admin manages users, roles, join tokens, API tokens and settings · roles are cumulative · each binding
//   holds in one namespace or in all of them (`*`) · an API token has at most its owner's rights, narrowed
//   to a role and/or a namespace.
// "Allowed" means the call succeeds: the fixtures are built so that it can.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { inferRouterInputs } from "@trpc/server";
import type { OpenApiMeta } from "trpc-to-openapi";
import type { ChangeCreateInput, Role } from "@trellis/contracts";
import { createDb, type Db } from "@trellis/db";
import { createTestDatabase, type TestDatabase } from "@trellis/db/testing";
import {
  actorForUser,
  approveChange,
  createApiToken,
  createChange,
  hashPassword,
  type Actor,
} from "@trellis/services";
import { minuteAgo, seedRollups } from "@trellis/services/testing";
import { serve, type TestServer } from "./testing.js";
import { handleRestRequest, handleTrpcRequest, openApiDocument, type AppRouter } from "./index.js";
import { appRouter } from "./root.js";

const NS = "shop";
const TRACE_IN_NS = "bb000000000000000000000000000001";
/** The author of every change the rows act on: an editor of NS. */
const AUTHOR = "eddie";
const SAM_PASSWORD = "sam-password-123";

// --- the callers -------------------------------------------------------------------------------------------

interface Binding {
  role: Role;
  namespace: string;
}
interface Caller {
  /** The console's tRPC with a session (as the browser calls it), or REST with a bearer token. */
  edge: "console" | "rest";
  /** The user behind the call; null: nobody signed in, no token. */
  user: string | null;
  /** For REST: the token's narrowing (absent: a token with all of its owner's rights). */
  token?: { role?: Role; namespace?: string };
  /** What the role model grants this caller: for a token, its owner's rights after narrowing. */
  rights: Binding[] | null;
}

const CALLERS = {
  anonymous: { edge: "console", user: null, rights: null },
  viewer: { edge: "console", user: "vera", rights: [{ role: "viewer", namespace: NS }] },
  editor: { edge: "console", user: AUTHOR, rights: [{ role: "editor", namespace: NS }] },
  approver: { edge: "console", user: "april", rights: [{ role: "approver", namespace: NS }] },
  admin: { edge: "console", user: "ada", rights: [{ role: "admin", namespace: NS }] },
  "admin of another namespace": {
    edge: "console",
    user: "bill",
    rights: [{ role: "admin", namespace: "billing" }],
  },
  "admin of *": { edge: "console", user: "root", rights: [{ role: "admin", namespace: "*" }] },
  // REST with API tokens: none, the author's own, and the mesh admin's narrowed by role, by namespace, by both.
  "REST, no token": { edge: "rest", user: null, rights: null },
  "REST, the editor's token": { edge: "rest", user: AUTHOR, rights: [{ role: "editor", namespace: NS }] },
  "REST, root's token narrowed to approver": {
    edge: "rest",
    user: "root",
    token: { role: "approver" },
    rights: [{ role: "approver", namespace: "*" }],
  },
  "REST, root's token narrowed to the namespace": {
    edge: "rest",
    user: "root",
    token: { namespace: NS },
    rights: [{ role: "admin", namespace: NS }],
  },
  "REST, root's token narrowed to viewer of the namespace": {
    edge: "rest",
    user: "root",
    token: { role: "viewer", namespace: NS },
    rights: [{ role: "viewer", namespace: NS }],
  },
} satisfies Record<string, Caller>;
type Who = keyof typeof CALLERS;
const WHO = Object.keys(CALLERS) as Who[];

/** Users of the fixtures besides the callers': a token owner and a user who signs in with a password. */
const OTHER_USERS: Record<string, Binding[]> = {
  oscar: [{ role: "viewer", namespace: NS }],
  sam: [{ role: "viewer", namespace: NS }],
};

// --- the role model ----------------------------------------------------------------------------------------

/**
 * - `public`: anyone, signed in or not. `signed-in`: any user or token. `author`: the change's author only.
 * - a role: that role or a higher one, held where `in` says (default: in NS).
 */
type Need = "public" | "signed-in" | "author" | Role;
/** Where the role must be held: in NS (a `*` binding counts), in any namespace at all, or in `*` itself. */
type Scope = "namespace" | "any namespace" | "*";
type Outcome =
  "ok" | "AUTH_REQUIRED" | "FORBIDDEN" | "ROLE_ESCALATION" | "CHANGE_SELF_APPROVAL" | "NOT_FOUND";

interface Rule<I> {
  need: Need;
  in?: Scope;
  /** The change's author is refused with CHANGE_SELF_APPROVAL, whatever their role. */
  notTheAuthor?: true;
  /** An admin of some other scope is refused with ROLE_ESCALATION (not FORBIDDEN): they reach beyond it. */
  escalation?: true;
  /** The code a caller without the right gets, when it is not FORBIDDEN. */
  deniedAs?: Outcome;
  /** A change: to a caller who cannot read it (no viewer role in NS) it does not exist, NOT_FOUND. */
  change?: true;
  /** The input, with fresh fixtures for this one call (a mutation must not see the previous one's work). */
  input: () => I | Promise<I>;
}

/** Cumulative: each role includes the rights of the ones before it. */
const LADDER: Role[] = ["viewer", "editor", "approver", "admin"];

function holds(rights: readonly Binding[], need: Role, scope: Scope): boolean {
  return rights.some(
    (b) =>
      LADDER.indexOf(b.role) >= LADDER.indexOf(need) &&
      (scope === "any namespace" || b.namespace === "*" || (scope === "namespace" && b.namespace === NS)),
  );
}

function expected(rule: Rule<unknown>, caller: Caller): Outcome {
  if (rule.need === "public") return "ok";
  if (caller.rights === null) return "AUTH_REQUIRED";
  if (rule.need === "signed-in") return "ok";
  if (rule.change && !holds(caller.rights, "viewer", "namespace")) return "NOT_FOUND";
  if (rule.need === "author") return caller.user === AUTHOR ? "ok" : "FORBIDDEN";
  if (rule.notTheAuthor && caller.user === AUTHOR) return "CHANGE_SELF_APPROVAL";
  if (holds(caller.rights, rule.need, rule.in ?? "namespace")) return "ok";
  if (rule.escalation && caller.rights.some((b) => b.role === "admin")) return "ROLE_ESCALATION";
  return rule.deniedAs ?? "FORBIDDEN";
}

// --- the table: one row per procedure ----------------------------------------------------------------------

type Inputs = inferRouterInputs<AppRouter>;
type Path = { [R in keyof Inputs & string]: `${R}.${keyof Inputs[R] & string}` }[keyof Inputs & string];
type InputOf<P extends Path> = P extends `${infer R extends keyof Inputs & string}.${infer N}`
  ? N extends keyof Inputs[R]
    ? Inputs[R][N]
    : never
  : never;

const RULES: { [P in Path]: Rule<InputOf<P>> } = {
  // How a user without a token gets one: no session, no token.
  "signIn.token": { need: "public", input: () => ({ user: "sam", password: SAM_PASSWORD, name: "cli" }) },

  // Your own: who you are, your tokens. A new token carries at most your rights (here: viewer of NS).
  "user.me": { need: "signed-in", input: () => ({}) },
  "apiToken.list": { need: "signed-in", input: () => ({}) },
  "apiToken.create": { need: "viewer", input: () => ({ name: "ci", role: "viewer", namespace: NS }) },
  // Someone else's token: admins of * only; everyone else is told it does not exist (yours: see below).
  "apiToken.revoke": {
    need: "admin",
    in: "*",
    deniedAs: "NOT_FOUND",
    input: async () => ({ id: await tokenOf("oscar") }),
  },

  // Reading: viewers.
  "service.list": { need: "viewer", input: () => ({ namespace: NS }) },
  "proxy.list": { need: "viewer", input: () => ({ namespace: NS }) },
  "trace.list": { need: "viewer", input: () => ({ namespace: NS }) },
  // A trace with a span in NS: a caller who may read none of its spans is told it does not exist.
  "trace.get": { need: "viewer", deniedAs: "NOT_FOUND", input: () => ({ traceId: TRACE_IN_NS }) },
  "traffic.edges": { need: "viewer", input: () => ({ namespace: NS }) },
  "traffic.series": { need: "viewer", input: () => ({ namespace: NS, service: "reviews" }) },
  "traffic.sparklines": {
    need: "viewer",
    input: () => ({ services: [`${NS}/reviews`, `${NS}/frontend`], minutes: 15 }),
  },
  "graph.get": { need: "viewer", input: () => ({ namespace: NS }) },
  "policy.suggest": { need: "viewer", input: () => ({ namespace: NS, service: "reviews", window: "1h" }) },
  "demoFault.list": { need: "viewer", input: () => ({ namespace: NS }) },
  "resource.list": { need: "viewer", input: () => ({ namespace: NS }) },
  "resource.get": { need: "viewer", input: () => ({ kind: "Route", namespace: NS, name: "reviews-canary" }) },
  "resource.history": {
    need: "viewer",
    input: () => ({ kind: "Route", namespace: NS, name: "reviews-canary" }),
  },
  "change.list": { need: "viewer", input: () => ({ namespace: NS }) },
  "change.get": { need: "viewer", change: true, input: () => ({ id: fixtures.appliedChange }) },
  "change.impact": { need: "viewer", change: true, input: () => ({ id: fixtures.appliedChange }) },
  "change.rollout": { need: "viewer", change: true, input: () => ({ id: fixtures.appliedChange }) },
  "change.preview": { need: "viewer", input: () => accessPolicyChange() },
  "settings.get": { need: "viewer", input: () => ({ namespace: NS }) },

  // Proposing: editors. Withdrawing: the author.
  "change.create": { need: "editor", input: () => accessPolicyChange() },
  "change.rebase": { need: "editor", change: true, input: async () => ({ id: await openChange() }) },
  "change.rollback": { need: "editor", change: true, input: async () => ({ id: await appliedChange() }) },
  "change.cancel": { need: "author", change: true, input: async () => ({ id: await openChange() }) },

  // Deciding: approvers, never the author.
  "change.approve": {
    need: "approver",
    notTheAuthor: true,
    change: true,
    input: async () => ({ id: await openChange() }),
  },
  "change.reject": {
    need: "approver",
    notTheAuthor: true,
    change: true,
    input: async () => ({ id: await openChange(), comment: "no" }),
  },

  // Administering: admins of the namespace; users themselves are mesh-wide (admins of *).
  // Clearing needs no running demo workload (setting one does: demo-fault-rest.test.ts), so the call can succeed.
  "demoFault.set": {
    need: "editor",
    input: () => ({ namespace: NS, service: "reviews", version: "v2", percent: 0 }),
  },
  "settings.set": { need: "admin", input: () => ({ namespace: NS, requiredApprovals: 1 }) },
  "joinToken.create": { need: "admin", input: () => ({ namespace: NS, service: "reviews" }) },
  "joinToken.list": { need: "admin", input: () => ({ namespace: NS }) },
  "joinToken.revoke": { need: "admin", input: async () => ({ id: await joinToken() }) },
  "audit.list": { need: "admin", input: () => ({ namespace: NS }) },
  "user.list": { need: "admin", in: "any namespace", input: () => ({}) },
  "user.create": { need: "admin", in: "*", input: () => ({ name: freshName() }) },
  "user.disable": { need: "admin", in: "*", input: async () => ({ name: await user() }) },
  "user.enable": { need: "admin", in: "*", input: async () => ({ name: await user({ disabled: true }) }) },
  "user.resetPassword": { need: "admin", in: "*", input: async () => ({ name: await user() }) },
  "user.grant": {
    need: "admin",
    escalation: true,
    input: async () => ({ name: await user(), role: "viewer", namespace: NS }),
  },
  "user.revoke": {
    need: "admin",
    escalation: true,
    input: async () => ({
      name: await user({ bindings: [{ role: "viewer", namespace: NS }] }),
      role: "viewer",
      namespace: NS,
    }),
  },
};

// --- fixtures ----------------------------------------------------------------------------------------------

let tdb: TestDatabase;
let db: Db;
let server: TestServer;
const userIds: Record<string, string> = {};
const actors: Record<string, Actor> = {};
const tokens: Partial<Record<Who, string>> = {};
const fixtures = { appliedChange: "" };

let seq = 0;
const freshName = () => `user-${++seq}`;

async function user(opts: { disabled?: boolean; bindings?: Binding[] } = {}): Promise<string> {
  const name = freshName();
  await db.user.create({
    data: { name, disabled: opts.disabled ?? false, roleBindings: { create: opts.bindings ?? [] } },
  });
  return name;
}

async function tokenOf(name: string): Promise<string> {
  return (await createApiToken(db, actors[name]!, { name: `t${++seq}` })).id;
}

async function joinToken(): Promise<string> {
  const n = ++seq;
  const row = await db.joinToken.create({
    data: { namespace: NS, tokenHash: `hash-${n}`, prefix: `tj1.${n}` },
  });
  return row.id;
}

/** A change nobody else touches: AccessPolicies of one service may coexist. */
function accessPolicyChange(): ChangeCreateInput {
  const name = `ap-${++seq}`;
  return {
    title: name,
    operations: [
      {
        action: "create",
        resource: {
          apiVersion: "trellis.dev/v1alpha1",
          kind: "AccessPolicy",
          metadata: { name, namespace: NS },
          spec: { service: "ratings", allow: [{ from: [{ service: "frontend" }] }] },
        },
      },
    ],
  };
}

const openChange = async () => (await createChange(db, actors[AUTHOR]!, accessPolicyChange())).id;

async function appliedChange(): Promise<string> {
  const id = await openChange();
  await approveChange(db, actors.april!, { id });
  return id;
}

beforeAll(async () => {
  tdb = await createTestDatabase("api_authz");
  db = createDb(tdb.url);
  const people: Record<string, Binding[]> = { ...OTHER_USERS };
  for (const c of Object.values(CALLERS) as Caller[])
    if (c.edge === "console" && c.user && c.rights) people[c.user] = c.rights;
  for (const [name, bindings] of Object.entries(people)) {
    const u = await db.user.create({
      data: {
        name,
        passwordHash: name === "sam" ? await hashPassword(SAM_PASSWORD) : null,
        roleBindings: { create: bindings },
      },
    });
    userIds[name] = u.id;
    actors[name] = await actorForUser(db, u.id, { via: "api" });
  }
  for (const who of WHO) {
    const c: Caller = CALLERS[who];
    if (c.edge !== "rest" || !c.user) continue;
    tokens[who] = (await createApiToken(db, actors[c.user]!, { name: who, ...c.token })).token;
  }

  // The registry the changes are validated against, and the CA join tokens carry the fingerprint of.
  for (const [name, versions] of [
    ["reviews", ["v1", "v2"]],
    ["frontend", ["v1"]],
    ["ratings", ["v1"]],
  ] as const) {
    const s = await db.service.create({ data: { namespace: NS, name } });
    for (const [i, version] of versions.entries()) {
      await db.workload.create({
        data: {
          serviceId: s.id,
          version,
          address: `10.0.0.${i + 1}:15006`,
          identity: `spiffe://t/ns/${NS}/sa/${name}`,
        },
      });
    }
  }
  const ledger = await db.service.create({ data: { namespace: "billing", name: "ledger" } });
  await db.workload.create({
    data: {
      serviceId: ledger.id,
      version: "v1",
      address: "10.0.1.1:15006",
      identity: "spiffe://t/ns/billing/sa/ledger",
    },
  });
  // A trace within NS (one crossing namespaces is visible from both: traces-rest.test.ts).
  for (const [spanId, namespace, service, parent] of [
    ["00000000000000a1", NS, "frontend", null],
    ["00000000000000a2", NS, "reviews", "00000000000000a1"],
  ] as const)
    await db.traceSpan.create({
      data: {
        traceId: TRACE_IN_NS,
        spanId,
        parentSpanId: parent,
        namespace,
        service,
        origin: "proxy",
        name: "GET",
        kind: 2,
        startedAt: new Date(),
        durationMs: 1,
        statusCode: 0,
        attributes: {},
        resource: {},
      },
    });
  // A minute of traffic frontend → reviews in NS.
  await seedRollups(db, {
    bucket: minuteAgo(1),
    reporter: "outbound",
    source: [NS, "frontend"],
    destination: [NS, "reviews"],
    requests: 60,
    latencyMs: 10,
  });
  await db.certificateAuthority.create({
    data: {
      trustDomain: "t",
      certPem: "pem",
      encryptedKey: new Uint8Array([1]),
      fingerprint: "F".repeat(43),
      notBefore: new Date(),
      notAfter: new Date(Date.now() + 1e9),
    },
  });
  // A resource in force with a history, written by an applied change.
  const canary = await createChange(db, actors[AUTHOR]!, {
    title: "canary",
    operations: [
      {
        action: "create",
        resource: {
          apiVersion: "trellis.dev/v1alpha1",
          kind: "Route",
          metadata: { name: "reviews-canary", namespace: NS },
          spec: {
            service: "reviews",
            rules: [
              {
                backends: [
                  { version: "v1", weight: 90 },
                  { version: "v2", weight: 10 },
                ],
              },
            ],
          },
        },
      },
    ],
  });
  await approveChange(db, actors.april!, { id: canary.id });
  fixtures.appliedChange = canary.id;

  // The console's route handler asks next-auth for the session; here a header names the signed-in user.
  server = await serve((req) => {
    const path = new URL(req.url).pathname;
    if (path.startsWith("/api/v1/")) return handleRestRequest(db, req);
    return handleTrpcRequest(db, req, {
      endpoint: "/api/trpc",
      sessionUserId: req.headers.get("x-test-session"),
    });
  });
}, 120_000);

afterAll(async () => {
  await server?.close();
  await db?.$disconnect();
  await tdb?.drop();
});

// --- calling a procedure as a caller -----------------------------------------------------------------------

type Procedure = { _def: { type: "query" | "mutation" | "subscription"; meta?: OpenApiMeta } };
// At run time tRPC 11 keeps every procedure in one flat record keyed by its dotted path ("change.approve");
// the declared type is the nested record, hence the cast.
const PROCEDURES = appRouter._def.procedures as unknown as Record<string, Procedure>;

const REST_DOCUMENT = openApiDocument("http://localhost") as unknown as {
  paths: Record<string, Record<string, { responses: Record<string, unknown> }>>;
};

/** `ok`, or the stable code of the error the caller got. */
async function call(who: Who, path: string, input: Record<string, unknown>): Promise<string> {
  return (await send(who, path, input)).code;
}

/** Calls `path` as `who` over their edge: the outcome, and the data on success. */
async function send(
  who: Who,
  path: string,
  input: Record<string, unknown>,
): Promise<{ code: string; data: unknown }> {
  const caller: Caller = CALLERS[who];
  const proc = PROCEDURES[path]!;
  let res: Response;
  if (caller.edge === "console") {
    const headers: Record<string, string> = {
      "content-type": "application/json",
      origin: server.url,
      ...(caller.user ? { "x-test-session": userIds[caller.user]! } : {}),
    };
    res =
      proc._def.type === "query"
        ? await fetch(`${server.url}/api/trpc/${path}?input=${encodeURIComponent(JSON.stringify(input))}`, {
            headers,
          })
        : await fetch(`${server.url}/api/trpc/${path}`, {
            method: "POST",
            headers,
            body: JSON.stringify(input),
          });
  } else {
    const { method, path: template } = proc._def.meta!.openapi!;
    const rest = { ...input };
    const url = new URL(
      `/api/v1${template.replace(/\{(\w+)\}/g, (_, k: string) => {
        const v = rest[k];
        delete rest[k];
        return encodeURIComponent(String(v));
      })}`,
      server.url,
    );
    const inQuery = method === "GET" || method === "DELETE";
    // A list goes as the parameter repeated (`?services=a&services=b`), as REST clients send it.
    if (inQuery)
      for (const [k, v] of Object.entries(rest))
        for (const one of Array.isArray(v) ? v : [v]) url.searchParams.append(k, String(one));
    res = await fetch(url, {
      method,
      headers: {
        ...(tokens[who] ? { authorization: `Bearer ${tokens[who]}` } : {}),
        ...(inQuery ? {} : { "content-type": "application/json" }),
      },
      ...(inQuery ? {} : { body: JSON.stringify(rest) }),
    });
    // Whatever REST answered, the OpenAPI document lists for this operation: a generated client knows it.
    const documented = REST_DOCUMENT.paths[template]?.[method.toLowerCase()]?.responses ?? {};
    expect(Object.keys(documented), `${method} ${template} answered ${res.status}`).toContain(
      String(res.status),
    );
  }
  const text = await res.text();
  if (res.ok) {
    const data: unknown = JSON.parse(text);
    // tRPC wraps the data as { result: { data } }; REST sends it as it is.
    return {
      code: "ok",
      data: caller.edge === "console" ? (data as { result: { data: unknown } }).result.data : data,
    };
  }
  const body = JSON.parse(text) as { code?: string; error?: { data?: { appCode?: string } } };
  return {
    code: body.error?.data?.appCode ?? body.code ?? `HTTP ${res.status}: ${text.slice(0, 200)}`,
    data: null,
  };
}

// --- the tests ---------------------------------------------------------------------------------------------

describe("authorization: every procedure × every caller", () => {
  for (const path of Object.keys(PROCEDURES).sort()) {
    const rule = (RULES as Record<string, Rule<Record<string, unknown>> | undefined>)[path];
    describe(path, () => {
      if (!rule) {
        it("has a row in RULES", () => {
          expect.fail(`${path} has no row in RULES (authorization.test.ts): say who may call it`);
        });
        return;
      }
      for (const who of WHO) {
        const want = expected(rule, CALLERS[who]);
        it(`${who}: ${want}`, async () => {
          const input = await rule.input();
          const events = await db.auditEvent.count();
          expect(await call(who, path, input)).toBe(want);
          // A refused call changes nothing, so it leaves nothing in the audit log either.
          if (want !== "ok") expect(await db.auditEvent.count(), "audit events").toBe(events);
        });
      }
    });
  }

  it("has no row for a procedure that does not exist", () => {
    expect(Object.keys(RULES).filter((p) => !(p in PROCEDURES))).toEqual([]);
  });

  it("lets every signed-in caller revoke their own API token", async () => {
    for (const who of WHO) {
      const owner = CALLERS[who].user;
      if (!owner) continue;
      expect(await call(who, "apiToken.revoke", { id: await tokenOf(owner) }), who).toBe("ok");
    }
  });
});

// A list asked for without a namespace is not refused: it shows what the caller may read, and nothing else.
type Data = Record<string, { namespace?: string | null; namespaces?: string[]; bindings?: Binding[] }[]>;
/** The namespaces of the items under `key`. */
const of =
  (key: string) =>
  (d: Data): string[] =>
    d[key]!.flatMap((i) => i.namespaces ?? [i.namespace ?? "(none)"]);
const LISTS: [Path, [Who, Who], (d: Data) => string[]][] = [
  ["service.list", ["viewer", "admin of another namespace"], of("items")],
  ["proxy.list", ["viewer", "admin of another namespace"], of("items")],
  [
    "trace.list",
    ["viewer", "admin of another namespace"],
    (d) =>
      (d.items as unknown as { services: { namespace: string }[] }[]).flatMap((t) =>
        t.services.map((s) => s.namespace),
      ),
  ],
  ["graph.get", ["viewer", "admin of another namespace"], of("nodes")],
  ["resource.list", ["viewer", "admin of another namespace"], of("items")],
  ["change.list", ["viewer", "admin of another namespace"], of("items")],
  [
    "traffic.edges",
    ["viewer", "admin of another namespace"],
    (d) =>
      (d.edges as unknown as { source: { namespace: string }; destination: { namespace: string } }[]).flatMap(
        (e) => [e.source.namespace, e.destination.namespace],
      ),
  ],
  ["joinToken.list", ["admin", "admin of another namespace"], of("items")],
  ["audit.list", ["admin", "admin of another namespace"], of("items")],
  // Every admin may list users, but sees only the bindings that hold where they administer (and `*` ones).
  [
    "user.list",
    ["admin", "admin of another namespace"],
    (d) => d.items!.flatMap((u) => u.bindings!.map((b) => b.namespace)).filter((ns) => ns !== "*"),
  ],
];

describe("lists without a namespace show only the namespaces the caller may read", () => {
  for (const [path, callers, namespacesIn] of LISTS) {
    it(`${path}: ${callers.join(", ")}`, async () => {
      for (const [i, who] of callers.entries()) {
        const r = await send(who, path, {});
        expect(r.code, who).toBe("ok");
        const seen = namespacesIn(r.data as Data);
        const mine = (CALLERS[who] as Caller).rights!.map((b) => b.namespace);
        expect(
          seen.filter((ns) => !mine.includes(ns)),
          `${who} sees`,
        ).toEqual([]);
        // The namespace under test has some of everything: an empty list would prove nothing.
        if (i === 0) expect(seen, `${who} sees`).toContain(NS);
      }
    });
  }
});
