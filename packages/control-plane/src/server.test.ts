import { afterAll, beforeAll, describe, expect, inject, it } from "vitest";
import pg from "pg";
import { startControlPlane, CONFIG_CHANGED_CHANNEL, type ControlPlane } from "./index.js";

let cp: ControlPlane;
const seen: string[] = [];

beforeAll(async () => {
  cp = await startControlPlane({ databaseUrl: inject("databaseUrl"), port: 0, log: (l) => seen.push(l) });
});
afterAll(() => cp?.close());

describe("control plane server", () => {
  it("is healthy and ready when its database is", async () => {
    expect((await fetch(`${cp.url}/healthz`)).status).toBe(200);
    const ready = await fetch(`${cp.url}/readyz`);
    expect(ready.status).toBe(200);
    expect(await ready.json()).toEqual({ status: "ready" });
    expect((await fetch(`${cp.url}/nope`)).status).toBe(404);
  });

  it("hears config-change notifications from the database", async () => {
    const c = new pg.Client({ connectionString: inject("databaseUrl") });
    await c.connect();
    await c.query(`SELECT pg_notify($1, $2)`, [CONFIG_CHANGED_CHANNEL, "generation 7"]);
    await c.end();
    for (let i = 0; i < 50 && !seen.some((l) => l.includes("generation 7")); i++)
      await new Promise((r) => setTimeout(r, 50));
    expect(seen.some((l) => l.includes("generation 7"))).toBe(true);
  });
});
