import { afterAll, beforeAll, describe, expect, inject, it } from "vitest";
import { createDb } from "@trellis/db";
import { bootstrap } from "@trellis/services";
import { seedRollups } from "@trellis/services/testing";
import { handleRestRequest, openApiDocument } from "./index.js";

const db = createDb(inject("databaseUrl"));
const TOKEN = "trls_api_traffic_test_token_0123456789abcdef";

beforeAll(async () => {
  await bootstrap(db, { adminPassword: "correct horse battery staple", bootstrapToken: TOKEN });
  // 40 calls in the current minute at 7.5 ms each: all in the ≤ 10 ms bucket.
  await seedRollups(db, {
    reporter: "outbound",
    source: ["traffic-api", "web"],
    destination: ["traffic-api", "reviews", "v2"],
    requests: 40,
    latencyMs: 7.5,
  });
});
afterAll(() => db.$disconnect());

const get = (path: string) =>
  handleRestRequest(
    db,
    new Request(`http://localhost${path}`, { headers: { authorization: `Bearer ${TOKEN}` } }),
  );

describe("GET /api/v1/traffic/edges", () => {
  it("returns the observed edges of a namespace, split by version or not", async () => {
    const res = await get("/api/v1/traffic/edges?namespace=traffic-api&minutes=15");
    expect(res.status).toBe(200);
    const body = (await res.json()) as { edges: { destination: { version: string }; requests: number }[] };
    expect(body.edges).toMatchObject([{ destination: { service: "reviews", version: "v2" }, requests: 40 }]);

    const merged = (await (
      await get("/api/v1/traffic/edges?namespace=traffic-api&versions=merged")
    ).json()) as typeof body;
    expect(merged.edges[0]!.destination.version).toBe("*");
  });

  it("rejects a window out of range with the field named", async () => {
    const res = await get("/api/v1/traffic/edges?minutes=5000");
    expect(res.status).toBe(422);
    expect(await res.json()).toMatchObject({ code: "VALIDATION_FAILED", issues: [{ path: "minutes" }] });
  });

  it("serves the graph shape scripts rely on at GET /api/v1/graph", async () => {
    const res = await get("/api/v1/graph?namespace=traffic-api&window=15m&groupBy=version");
    expect(res.status).toBe(200);
    const g = (await res.json()) as {
      nodes: { id: string }[];
      edges: { source: string; target: string; rps: number; mtlsPercent: number }[];
    };
    expect(g.edges).toEqual([
      expect.objectContaining({
        source: "traffic-api/web/v1",
        target: "traffic-api/reviews/v2",
        mtlsPercent: 100,
      }),
    ]);
    expect(g.nodes.map((n) => n.id).sort()).toEqual(["traffic-api/reviews/v2", "traffic-api/web/v1"]);
    expect((await get("/api/v1/graph?window=2d")).status).toBe(422);
  });

  it("is in the OpenAPI document", () => {
    const paths = (openApiDocument("http://localhost:3000") as { paths: object }).paths;
    expect(paths).toHaveProperty("/traffic/edges");
    expect(paths).toHaveProperty("/traffic/sparklines");
    expect(paths).toHaveProperty("/graph");
  });
});

describe("GET /api/v1/traffic/sparklines", () => {
  type Body = { stepSeconds: number; items: { service: string; points: { requests: number }[] }[] };
  const total = (b: Body, service: string) =>
    b.items.find((i) => i.service === service)!.points.reduce((n, p) => n + p.requests, 0);

  it("takes the services as a repeated parameter, one or many, and answers for each", async () => {
    const res = await get(
      "/api/v1/traffic/sparklines?services=traffic-api/reviews&services=traffic-api/web&minutes=15",
    );
    expect(res.status).toBe(200);
    const body = (await res.json()) as Body;
    expect(body.stepSeconds).toBe(60);
    expect(body.items.map((i) => i.service)).toEqual(["reviews", "web"]);
    expect(total(body, "reviews")).toBe(40);
    expect(total(body, "web")).toBe(0);

    const one = (await (await get("/api/v1/traffic/sparklines?services=traffic-api/reviews")).json()) as Body;
    expect(one.items.map((i) => i.service)).toEqual(["reviews"]);
  });

  it("names the field when a service is not namespace/service, or none is given", async () => {
    const bad = await get("/api/v1/traffic/sparklines?services=reviews");
    expect(bad.status).toBe(422);
    // Paths read as everywhere else (`services[0]`, once `services.0` here), and `at` locates the item.
    expect(await bad.json()).toMatchObject({
      code: "VALIDATION_FAILED",
      issues: [{ path: "services[0]", at: { path: ["services", 0] } }],
    });
    expect((await get("/api/v1/traffic/sparklines")).status).toBe(422);
  });
});
