import { gunzipSync } from "node:zlib";
import { describe, expect, it } from "vitest";
import { acceptsGzip, compressed } from "./compress";

const json = (body: unknown, headers: Record<string, string> = {}) =>
  new Response(JSON.stringify(body), { headers: { "content-type": "application/json", ...headers } });
const req = (acceptEncoding?: string) =>
  new Request("http://localhost/api/trpc/x", {
    headers: acceptEncoding === undefined ? {} : { "accept-encoding": acceptEncoding },
  });
const big = { items: Array.from({ length: 500 }, (_, i) => ({ namespace: "shop", name: `svc-${i}` })) };

describe("acceptsGzip", () => {
  it.each([
    ["gzip, deflate, br, zstd", true],
    ["br;q=1.0, gzip;q=0.8", true],
    ["*", true],
    ["GZIP", true],
    ["gzip;q=0", false],
    ["gzip;q=0.000", false],
    ["br", false],
    ["identity", false],
    ["", false],
  ])("%j → %s", (header, expected) => expect(acceptsGzip(header)).toBe(expected));
  it("is false without the header", () => expect(acceptsGzip(null)).toBe(false));
});

describe("compressed", () => {
  it("gzips a JSON answer to a client that takes gzip: the same bytes come back out, smaller", async () => {
    const res = compressed(req("gzip, deflate, br"), json(big, { "set-cookie": "a=1" }));
    expect(res.headers.get("content-encoding")).toBe("gzip");
    expect(res.headers.get("vary")).toMatch(/accept-encoding/i);
    expect(res.headers.get("set-cookie")).toBe("a=1");
    const wire = Buffer.from(await res.arrayBuffer());
    const plain = JSON.stringify(big);
    expect(gunzipSync(wire).toString()).toBe(plain);
    expect(wire.length).toBeLessThan(plain.length / 5);
  });

  it("keeps the status and the other headers", async () => {
    const res = compressed(
      req("gzip"),
      new Response("x".repeat(5000), { status: 403, headers: { "content-type": "text/plain", "x-a": "b" } }),
    );
    expect(res.status).toBe(403);
    expect(res.headers.get("x-a")).toBe("b");
    expect(gunzipSync(Buffer.from(await res.arrayBuffer())).toString()).toBe("x".repeat(5000));
  });

  it("answers plain (but varying) to a client that does not take gzip", async () => {
    const res = compressed(req("br;q=1, gzip;q=0"), json(big));
    expect(res.headers.get("content-encoding")).toBeNull();
    expect(res.headers.get("vary")).toMatch(/accept-encoding/i);
    expect(await res.text()).toBe(JSON.stringify(big));
  });

  it("leaves small, binary, empty and already encoded answers alone", async () => {
    const small = json({ ok: true }, { "content-length": "11" });
    expect(compressed(req("gzip"), small)).toBe(small);
    const png = new Response(new Uint8Array(5000), { headers: { "content-type": "image/png" } });
    expect(compressed(req("gzip"), png)).toBe(png);
    const empty = new Response(null, { status: 204 });
    expect(compressed(req("gzip"), empty)).toBe(empty);
    const encoded = json(big, { "content-encoding": "br" });
    expect(compressed(req("gzip"), encoded)).toBe(encoded);
  });
});
