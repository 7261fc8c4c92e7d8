import { expect, test } from "@playwright/test";
import { ADMIN_TOKEN } from "./fixtures";

test("GET /api/v1/services needs a valid bearer token", async ({ request }) => {
  const anonymous = await request.get("/api/v1/services");
  expect(anonymous.status()).toBe(401);
  expect(anonymous.headers()["content-type"]).toContain("application/problem+json");
  expect(await anonymous.json()).toMatchObject({ code: "AUTH_REQUIRED" });

  const wrong = await request.get("/api/v1/services", {
    headers: { authorization: "Bearer trls_not_a_real_token_000000000000" },
  });
  expect(wrong.status()).toBe(401);

  const ok = await request.get("/api/v1/services", { headers: { authorization: `Bearer ${ADMIN_TOKEN}` } });
  expect(ok.status()).toBe(200);
  expect(await ok.json()).toMatchObject({ items: expect.any(Array) });
});

test("the OpenAPI document describes the REST API", async ({ request }) => {
  const res = await request.get("/api/openapi.json");
  expect(res.ok()).toBe(true);
  const doc = (await res.json()) as { openapi: string; paths: Record<string, unknown> };
  expect(doc.openapi).toMatch(/^3\./);
  expect(doc.paths).toHaveProperty("/services");
});

test("the control plane is up beside the console, serving its mesh CA", async ({ playwright }) => {
  // Its TLS certificate comes from the mesh CA, which proxies pin through their join token; this check
  // only asks whether it is up.
  const cp = await playwright.request.newContext({ ignoreHTTPSErrors: true });
  expect((await cp.get(`${process.env.E2E_CP_URL}/readyz`)).status()).toBe(200);
  expect(await (await cp.get(`${process.env.E2E_CP_URL}/v1/ca`)).text()).toContain("BEGIN CERTIFICATE");
  await cp.dispose();
});
