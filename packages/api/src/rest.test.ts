import { afterAll, beforeAll, describe, expect, inject, it } from "vitest";
import { createDb } from "@trellis/db";
import { bootstrap, createApiToken, type Actor } from "@trellis/services";
import { handleRestRequest, handleTrpcRequest, openApiDocument } from "./index.js";

const db = createDb(inject("databaseUrl"));
const ADMIN_TOKEN = "trls_api_test_admin_token_0123456789abcdef";
let viewerOfBilling = "";

beforeAll(async () => {
  await bootstrap(db, { adminPassword: "correct horse battery staple", bootstrapToken: ADMIN_TOKEN });
  const admin = await db.user.findUniqueOrThrow({ where: { name: "admin" } });
  const actor: Actor = {
    kind: "user",
    userId: admin.id,
    name: "admin",
    bindings: [{ role: "admin", namespace: "*" }],
    via: "api",
  };
  viewerOfBilling = (
    await createApiToken(db, actor, { name: "billing-viewer", role: "viewer", namespace: "billing" })
  ).token;
  const svc = await db.service.create({ data: { namespace: "shop", name: "reviews", vip: "240.10.20.30" } });
  await db.workload.create({
    data: {
      serviceId: svc.id,
      version: "v1",
      address: "127.0.0.1:15006",
      identity: "spiffe://t/ns/shop/sa/reviews",
    },
  });
});
afterAll(() => db.$disconnect());

const get = (path: string, headers: Record<string, string> = {}) =>
  handleRestRequest(db, new Request(`http://localhost${path}`, { headers }));

describe("REST /api/v1", () => {
  it("answers 401 with a problem document and a challenge when no token is sent", async () => {
    const res = await get("/api/v1/services");
    expect(res.status).toBe(401);
    expect(res.headers.get("content-type")).toBe("application/problem+json");
    expect(res.headers.get("www-authenticate")).toMatch(/^Bearer/);
    expect(await res.json()).toMatchObject({ status: 401, code: "AUTH_REQUIRED" });
  });

  it("answers 401 AUTH_TOKEN_INVALID for a wrong or malformed token", async () => {
    expect(
      await (
        await get("/api/v1/services", { authorization: "Bearer trls_wrong_wrong_wrong_wrong_wrong" })
      ).json(),
    ).toMatchObject({
      status: 401,
      code: "AUTH_TOKEN_INVALID",
    });
    expect((await get("/api/v1/services", { authorization: "Basic YWRtaW46YWRtaW4=" })).status).toBe(401);
  });

  it("lists services with a valid token", async () => {
    const res = await get("/api/v1/services", { authorization: `Bearer ${ADMIN_TOKEN}` });
    expect(res.status).toBe(200);
    expect(await res.json()).toEqual({
      items: [
        {
          namespace: "shop",
          name: "reviews",
          versions: ["v1"],
          workloads: 1,
          healthyWorkloads: 1,
          vip: "240.10.20.30",
          createdAt: expect.stringMatching(/^\d{4}-\d\d-\d\dT/),
        },
      ],
    });
  });

  it("answers HEAD as GET without a body: the same status and headers", async () => {
    const head = (path: string, headers: Record<string, string> = {}) =>
      handleRestRequest(db, new Request(`http://localhost${path}`, { method: "HEAD", headers }));
    const auth = { authorization: `Bearer ${ADMIN_TOKEN}` };
    const [h, g] = [await head("/api/v1/services", auth), await get("/api/v1/services", auth)];
    expect(h.status).toBe(200);
    expect(h.headers.get("content-type")).toBe(g.headers.get("content-type"));
    expect(await h.text()).toBe("");
    expect((await head("/api/v1/services")).status).toBe(401);
    expect((await head("/api/v1/no-such-thing", auth)).status).toBe(404);
  });

  it("narrows a token to its namespace: 200 with nothing visible, 403 when asking for another namespace", async () => {
    const list = await get("/api/v1/services", { authorization: `Bearer ${viewerOfBilling}` });
    expect(await list.json()).toEqual({ items: [] });
    const other = await get("/api/v1/services?namespace=shop", {
      authorization: `Bearer ${viewerOfBilling}`,
    });
    expect(other.status).toBe(403);
    expect(await other.json()).toMatchObject({ code: "FORBIDDEN" });
  });

  it("reports invalid input with the field path, and unknown paths as 404", async () => {
    const bad = await get("/api/v1/services?namespace=Not_A_Label", {
      authorization: `Bearer ${ADMIN_TOKEN}`,
    });
    expect(bad.status).toBe(422);
    const body = (await bad.json()) as { code: string; issues: { path: string }[] };
    expect(body.code).toBe("VALIDATION_FAILED");
    expect(body.issues[0]?.path).toBe("namespace");
    expect((await get("/api/v1/nope", { authorization: `Bearer ${ADMIN_TOKEN}` })).status).toBe(404);
  });

  it("publishes an OpenAPI document that describes the endpoint and its security", () => {
    const doc = openApiDocument("http://localhost:3000") as {
      paths: Record<string, unknown>;
      servers: { url: string }[];
    };
    expect(Object.keys(doc.paths)).toContain("/services");
    // Generated from the contract: a service's VIP is described, as an IPv4 address or null.
    const services = doc.paths["/services"] as {
      get: {
        responses: Record<string, { content: Record<string, { schema: unknown }> }>;
      };
    };
    const item = (
      services.get.responses["200"]!.content["application/json"]!.schema as {
        properties: { items: { items: { properties: Record<string, unknown>; required: string[] } } };
      }
    ).properties.items.items;
    expect(item.required).toContain("vip");
    expect(item.properties.vip).toMatchObject({
      anyOf: [{ type: "string", pattern: expect.stringContaining("25[0-5]") }, { type: "null" }],
    });
    expect(doc.servers[0]?.url).toBe("http://localhost:3000/api/v1");
  });
});

describe("tRPC edge", () => {
  it("refuses cross-site state-changing requests before any procedure runs", async () => {
    const res = await handleTrpcRequest(
      db,
      new Request("http://localhost/api/trpc/service.list", {
        method: "POST",
        headers: { origin: "https://evil.example", host: "localhost", "content-type": "application/json" },
        body: "{}",
      }),
      { endpoint: "/api/trpc", sessionUserId: null },
    );
    expect(res.status).toBe(403);
  });

  it("requires a session or token", async () => {
    const res = await handleTrpcRequest(
      db,
      new Request("http://localhost/api/trpc/service.list?input=%7B%7D"),
      {
        endpoint: "/api/trpc",
        sessionUserId: null,
      },
    );
    expect(res.status).toBe(401);
  });

  it("serves a signed-in user's session", async () => {
    const admin = await db.user.findUniqueOrThrow({ where: { name: "admin" } });
    const res = await handleTrpcRequest(
      db,
      new Request("http://localhost/api/trpc/service.list?input=%7B%7D"),
      {
        endpoint: "/api/trpc",
        sessionUserId: admin.id,
      },
    );
    expect(res.status).toBe(200);
    expect(JSON.stringify(await res.json())).toContain("reviews");
  });
});

describe("REST join tokens and API tokens", () => {
  const send = (method: string, path: string, token: string, body?: unknown) =>
    handleRestRequest(
      db,
      new Request(`http://localhost${path}`, {
        method,
        headers: {
          authorization: `Bearer ${token}`,
          ...(body ? { "content-type": "application/json" } : {}),
        },
        ...(body ? { body: JSON.stringify(body) } : {}),
      }),
    );

  it("lets an admin create, list and revoke a join token that carries the CA fingerprint", async () => {
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
    const res = await send("POST", "/api/v1/join-tokens", ADMIN_TOKEN, {
      namespace: "shop",
      service: "reviews",
      expiresIn: "24h",
    });
    expect(res.status).toBe(200);
    const created = (await res.json()) as { id: string; token: string; expiresAt: string };
    expect(created.token).toMatch(new RegExp(`^tj1\\.${"F".repeat(43)}\\.[\\w-]{43}$`));
    expect(new Date(created.expiresAt).getTime() - Date.now()).toBeGreaterThan(23.9 * 3600_000);

    const list = (await (await send("GET", "/api/v1/join-tokens", ADMIN_TOKEN)).json()) as {
      items: { id: string; prefix: string }[];
    };
    expect(list.items.map((t) => t.id)).toContain(created.id);
    expect(JSON.stringify(list)).not.toContain(created.token.split(".")[2]);

    const revoked = await send("DELETE", `/api/v1/join-tokens/${created.id}`, ADMIN_TOKEN);
    expect(revoked.status).toBe(200);
    // No proxy joined with it: nothing to evict.
    expect(await revoked.json()).toEqual({ revoked: true, evictedProxies: 0, certificatesRevoked: 0 });
    const after = (await (await send("GET", "/api/v1/join-tokens?namespace=shop", ADMIN_TOKEN)).json()) as {
      items: { id: string; revokedAt: string | null; evictedProxies: number | null }[];
    };
    expect(after.items.find((t) => t.id === created.id)).toMatchObject({ evictedProxies: 0 });
    expect(after.items.find((t) => t.id === created.id)?.revokedAt).not.toBeNull();
  });

  it("refuses a join token for the reserved name `unknown` (telemetry's caller without a name) with 422", async () => {
    for (const [body, path] of [
      [{ namespace: "unknown" }, "namespace"],
      [{ namespace: "shop", service: "unknown" }, "service"],
    ] as const) {
      const res = await send("POST", "/api/v1/join-tokens", ADMIN_TOKEN, body);
      expect(res.status).toBe(422);
      const problem = (await res.json()) as { code: string; issues: { path: string; message: string }[] };
      expect(problem.code).toBe("VALIDATION_FAILED");
      expect(problem.issues).toEqual([
        expect.objectContaining({ path, message: expect.stringMatching(/reserved/) }),
      ]);
    }
    expect(
      await db.joinToken.count({ where: { OR: [{ namespace: "unknown" }, { service: "unknown" }] } }),
    ).toBe(0);
  });

  it("refuses join tokens to non-admins, and bad input with the field path", async () => {
    const r = await send("POST", "/api/v1/join-tokens", viewerOfBilling, { namespace: "billing" });
    expect(r.status).toBe(403);
    const bad = await send("POST", "/api/v1/join-tokens", ADMIN_TOKEN, {
      namespace: "Bad Name",
      expiresIn: "forever",
    });
    expect(bad.status).toBe(422);
    const body = (await bad.json()) as { issues: { path: string }[] };
    expect(body.issues.map((i) => i.path).sort()).toEqual(["expiresIn", "namespace"]);
  });

  it("creates API tokens with at most the caller's rights, shown once", async () => {
    const ok = await send("POST", "/api/v1/tokens", ADMIN_TOKEN, {
      name: "ci",
      role: "editor",
      namespace: "shop",
    });
    expect(ok.status).toBe(200);
    const t = (await ok.json()) as { token: string };
    const asCi = await get("/api/v1/services?namespace=shop", { authorization: `Bearer ${t.token}` });
    expect(asCi.status).toBe(200);
    const escalate = await send("POST", "/api/v1/tokens", viewerOfBilling, { name: "more", role: "admin" });
    expect(escalate.status).toBe(403);
    const mine = (await (await send("GET", "/api/v1/tokens", ADMIN_TOKEN)).json()) as {
      items: { name: string }[];
    };
    expect(mine.items.map((i) => i.name)).toContain("ci");
    expect(JSON.stringify(mine)).not.toContain(t.token);
  });
});
