import { get } from "node:http";
import { gunzipSync } from "node:zlib";
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

/** The bytes on the wire and the headers, undecoded (Playwright's and fetch's clients would gunzip). */
function raw(path: string, headers: Record<string, string>) {
  return new Promise<{ headers: Record<string, string | string[] | undefined>; body: Buffer }>(
    (resolve, reject) =>
      get(new URL(path, process.env.E2E_BASE_URL), { headers }, (res) => {
        const chunks: Buffer[] = [];
        res.on("data", (c: Buffer) => chunks.push(c));
        res.on("end", () => resolve({ headers: res.headers, body: Buffer.concat(chunks) }));
        res.on("error", reject);
      }).on("error", reject),
  );
}

test("API answers are gzipped for a client that takes gzip, and plain for one that does not", async () => {
  const auth = { authorization: `Bearer ${ADMIN_TOKEN}` };
  for (const path of ["/api/openapi.json", "/api/v1/services", "/api/v1/no-such-endpoint"]) {
    const plain = await raw(path, auth);
    expect(plain.headers["content-encoding"], path).toBeUndefined();
    const gz = await raw(path, { ...auth, "accept-encoding": "gzip, deflate, br, zstd" });
    expect(gz.headers["content-encoding"], path).toBe("gzip");
    expect(gz.headers["vary"], path).toMatch(/accept-encoding/i);
    expect(gunzipSync(gz.body).toString(), path).toBe(plain.body.toString());
    const refused = await raw(path, { ...auth, "accept-encoding": "br, gzip;q=0" });
    expect(refused.headers["content-encoding"], path).toBeUndefined();
    expect(refused.body.toString(), path).toBe(plain.body.toString());
  }
  // The OpenAPI document, the largest answer: 230 KB of JSON.
  const doc = await raw("/api/openapi.json", { "accept-encoding": "gzip" });
  expect(doc.body.length).toBeLessThan(gunzipSync(doc.body).length / 10);
});

test("the control plane is up beside the console, serving its mesh CA", async ({ playwright }) => {
  // Its TLS certificate comes from the mesh CA, which proxies pin through their join token; this check
  // only asks whether it is up.
  const cp = await playwright.request.newContext({ ignoreHTTPSErrors: true });
  expect((await cp.get(`${process.env.E2E_CP_URL}/readyz`)).status()).toBe(200);
  expect(await (await cp.get(`${process.env.E2E_CP_URL}/v1/ca`)).text()).toContain("BEGIN CERTIFICATE");
  await cp.dispose();
});
