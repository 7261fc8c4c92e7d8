import { gunzipSync } from "node:zlib";
import { describe, expect, it } from "vitest";
import { acceptsGzip, gzipped } from "./gzip";

const big = { items: Array.from({ length: 500 }, (_, i) => ({ namespace: "shop", name: `svc-${i}` })) };
const req = (acceptEncoding?: string, method = "GET") =>
  new Request("http://localhost/api/v1/services", {
    method,
    headers: acceptEncoding === undefined ? {} : { "accept-encoding": acceptEncoding },
  });
const answering = (res: () => Response) => gzipped(async () => res());

describe("acceptsGzip", () => {
  it.each([
    ["gzip, deflate, br, zstd", true], // Chromium
    ["gzip,deflate,br", true], // Playwright's request
    ["br;q=1.0, gzip;q=0.8", true],
    ["gzip;q=0.001", true],
    ["x-gzip", true],
    ["gzip;q=0", false],
    ["gzip ; q=0.000, br", false],
    ["br", false],
    ["*", false], // a client that sends only * gets plain answers, on both halves alike
    ["identity", false],
    ["", false],
  ])("%j → %s", (header, expected) => expect(acceptsGzip(header)).toBe(expected));
  it("is false without the header", () => expect(acceptsGzip(null)).toBe(false));
});

describe("gzipped", () => {
  it("gzips the answer to a client that takes gzip: the same bytes come back out, smaller", async () => {
    const res = await answering(() => Response.json(big, { headers: { "set-cookie": "a=1" } }))(
      req("gzip, deflate, br"),
    );
    expect(res.headers.get("vary")).toMatch(/accept-encoding/i);
    expect(res.headers.get("set-cookie")).toBe("a=1");
    const wire = Buffer.from(await res.arrayBuffer());
    expect(gunzipSync(wire).toString()).toBe(JSON.stringify(big));
    expect(wire.length).toBeLessThan(JSON.stringify(big).length / 5);
  });

  it("keeps the status and the headers of an error, and gzips it too", async () => {
    const res = await answering(
      () =>
        new Response('{"code":"X"}', {
          status: 403,
          headers: { "content-type": "application/problem+json" },
        }),
    )(req("gzip"));
    expect(res.status).toBe(403);
    expect(res.headers.get("content-type")).toBe("application/problem+json");
    expect(gunzipSync(Buffer.from(await res.arrayBuffer())).toString()).toBe('{"code":"X"}');
  });

  it("answers a crashing handler with a gzipped problem document, not Next's plain 500 page labelled gzip", async () => {
    const crashing = gzipped(() => Promise.reject(new Error("boom")));
    const res = await crashing(req("gzip"));
    expect(res.status).toBe(500);
    expect(res.headers.get("content-type")).toBe("application/problem+json");
    const body = JSON.parse(gunzipSync(Buffer.from(await res.arrayBuffer())).toString());
    expect(body).toMatchObject({ status: 500, code: "INTERNAL" });
    expect(JSON.stringify(body)).not.toContain("boom");
  });

  it("sends an empty body as an empty gzip stream, since the header says gzip", async () => {
    const res = await answering(() => new Response(null, { status: 200 }))(req("gzip"));
    expect(gunzipSync(Buffer.from(await res.arrayBuffer())).toString()).toBe("");
  });

  it("answers plain (but varying) to a client that does not take gzip, and to HEAD and 204", async () => {
    for (const r of [req("br;q=1, gzip;q=0"), req(undefined), req("gzip", "HEAD")]) {
      const res = await answering(() => Response.json(big))(r);
      expect(res.headers.get("vary")).toMatch(/accept-encoding/i);
      if (r.method !== "HEAD") expect(await res.text()).toBe(JSON.stringify(big));
    }
    const empty = await answering(() => new Response(null, { status: 204 }))(req("gzip"));
    expect(empty.status).toBe(204);
    expect(empty.body).toBeNull();
  });
});
