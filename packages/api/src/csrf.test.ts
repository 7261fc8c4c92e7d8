// The tRPC edge's cross-site refusal over real HTTP: any state-changing call whose Origin is not this host,
// including the opaque `Origin: null` browsers send from sandboxed frames and file: pages, is a clean 403
// problem, never a 500.
import { afterAll, beforeAll, describe, expect, inject, it } from "vitest";
import { createDb } from "@trellis/db";
import { serve, type TestServer } from "./testing.js";
import { handleTrpcRequest } from "./index.js";

const db = createDb(inject("databaseUrl"));
let server: TestServer;

beforeAll(async () => {
  server = await serve((req) => handleTrpcRequest(db, req, { endpoint: "/api/trpc", sessionUserId: null }));
});
afterAll(async () => {
  await server?.close();
  await db.$disconnect();
});

const post = (headers: Record<string, string>) =>
  fetch(`${server.url}/api/trpc/apiToken.create`, {
    method: "POST",
    headers: { "content-type": "application/json", ...headers },
    body: JSON.stringify({ name: "x" }),
  });

describe("tRPC cross-site refusal", () => {
  for (const origin of ["null", "not a url", "http://", "https://evil.example"]) {
    it(`refuses Origin: ${origin} with a 403 problem`, async () => {
      const res = await post({ origin });
      expect(res.status).toBe(403);
      expect(res.headers.get("content-type")).toBe("application/problem+json");
      expect(await res.json()).toMatchObject({ status: 403, code: "FORBIDDEN", title: expect.any(String) });
    });
  }

  it("refuses a missing Origin and a cross-site Sec-Fetch-Site", async () => {
    expect((await post({})).status).toBe(403);
    expect((await post({ origin: server.url, "sec-fetch-site": "cross-site" })).status).toBe(403);
  });

  it("lets the console's own origin through to authentication", async () => {
    const res = await post({ origin: server.url, "sec-fetch-site": "same-origin" });
    expect(res.status).toBe(401);
  });
});
