// The sidecar's resolver, asked by real DNS clients: c-ares (node:dns's Resolver) over UDP and dig (BIND's)
// over UDP and TCP. The upstream that other names go to is a small resolver written here, which counts what it
// is asked: the mesh's own zones must never reach it.
import { execFile } from "node:child_process";
import dgram from "node:dgram";
import { Resolver } from "node:dns/promises";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startProxy, type ProxyHandle } from "../index.js";
import { answer, parseQuery, RCODE } from "./packet.js";

const L0 = { address: "127.0.0.1", port: 0 };

/** An upstream resolver: example.test is 192.0.2.7, every other name NXDOMAIN. Counts the names asked. */
async function startUpstream(): Promise<{ port: number; asked: string[]; close(): void }> {
  const asked: string[] = [];
  const s = dgram.createSocket("udp4");
  s.on("message", (m, from) => {
    const q = parseQuery(m);
    asked.push(q.name);
    const r =
      q.name === "example.test" ? answer(q, RCODE.noError, ["192.0.2.7"], 60) : answer(q, RCODE.nxDomain);
    s.send(r, from.port, from.address);
  });
  await new Promise<void>((r) => s.bind(0, "127.0.0.1", r));
  return { port: s.address().port, asked, close: () => s.close() };
}

const config = (version: string, reviewsVip: string) => ({
  version,
  identity: { namespace: "shop", service: "web", version: "v1", trustDomain: "trellis.test" },
  services: [
    { name: "reviews", namespace: "shop", port: 9080, vip: reviewsVip, mtls: false },
    { name: "ratings", namespace: "shop", port: 9080, vip: "240.0.0.21", mtls: false },
    // Another namespace's service: no bare name for it here.
    { name: "details", namespace: "books", port: 9080, vip: "240.0.0.22", mtls: false },
  ],
});

function dig(args: string[]): Promise<string> {
  return new Promise((resolve, reject) =>
    execFile("dig", ["+time=2", "+tries=1", ...args], (err, stdout, stderr) => {
      if (err && (err as NodeJS.ErrnoException).code === "ENOENT")
        return reject(new Error("dig is needed for this test (Debian: bind9-dnsutils)"));
      resolve(`${stdout}${stderr}`);
    }),
  );
}

describe("the sidecar's DNS", () => {
  let proxy: ProxyHandle;
  let upstream: Awaited<ReturnType<typeof startUpstream>>;
  let port: number;
  let resolver: Resolver;

  beforeAll(async () => {
    upstream = await startUpstream();
    proxy = await startProxy({
      config: config("c1", "240.0.0.20"),
      listeners: { outbound: L0, inbound: null, admin: L0 },
      dns: { address: "127.0.0.1", port: 0, upstreams: [{ host: "127.0.0.1", port: upstream.port }] },
      log: () => {},
    });
    port = proxy.addresses.dns!.port;
    resolver = new Resolver({ timeout: 2_000, tries: 1 });
    resolver.setServers([`127.0.0.1:${port}`]);
  });
  afterAll(async () => {
    await proxy?.close();
    upstream?.close();
  });

  it("answers every name of a service with its VIP, the bare name only in the workload's own namespace", async () => {
    for (const name of [
      "reviews",
      "reviews.shop",
      "reviews.shop.svc",
      "reviews.shop.svc.cluster.local",
      "REVIEWS.Shop",
    ])
      expect(await resolver.resolve4(name), name).toEqual(["240.0.0.20"]);
    expect(await resolver.resolve4("details.books")).toEqual(["240.0.0.22"]);
    // `details` alone is not this namespace's: asked upstream, which has no such name.
    await expect(resolver.resolve4("details")).rejects.toMatchObject({ code: "ENOTFOUND" });
    expect(upstream.asked).toContain("details");
  });

  it("answers other record types of a mesh name with no data, so clients fall back to A", async () => {
    await expect(resolver.resolve6("reviews.shop")).rejects.toMatchObject({ code: "ENODATA" });
  });

  it("keeps the mesh's zones to itself: an unknown name there is NXDOMAIN and never asked upstream", async () => {
    const before = upstream.asked.length;
    await expect(resolver.resolve4("nothere.shop.svc")).rejects.toMatchObject({ code: "ENOTFOUND" });
    await expect(resolver.resolve4("nothere.shop.svc.cluster.local")).rejects.toMatchObject({
      code: "ENOTFOUND",
    });
    expect(upstream.asked.length).toBe(before);
  });

  it("forwards other names to the upstream and relays its answer", async () => {
    expect(await resolver.resolve4("example.test")).toEqual(["192.0.2.7"]);
  });

  it("answers dig over UDP and TCP, authoritatively for the mesh's names", async () => {
    for (const transport of ["+notcp", "+tcp"]) {
      const out = await dig([`@127.0.0.1`, "-p", String(port), transport, "ratings.shop.svc", "A"]);
      expect(out, transport).toMatch(/status: NOERROR/);
      expect(out, transport).toMatch(/flags: qr aa rd ra;/);
      expect(out, transport).toMatch(/^ratings\.shop\.svc\.\s+30\s+IN\s+A\s+240\.0\.0\.21$/m);
    }
    const forwarded = await dig([`@127.0.0.1`, "-p", String(port), "+tcp", "example.test", "A"]);
    expect(forwarded).toMatch(/^example\.test\.\s+60\s+IN\s+A\s+192\.0\.2\.7$/m);
  });

  it("follows the config: a new VIP is answered as soon as the config is in force", async () => {
    expect(proxy.applyConfig(config("c2", "240.0.0.30")).ok).toBe(true);
    expect(await resolver.resolve4("reviews.shop")).toEqual(["240.0.0.30"]);
  });

  it("fails a forwarded name with SERVFAIL when no upstream answers, and counts every outcome", async () => {
    const lonely = await startProxy({
      config: config("c1", "240.0.0.20"),
      listeners: { outbound: L0, inbound: null, admin: L0 },
      // Nothing listens there: the query times out.
      dns: { address: "127.0.0.1", port: 0, upstreams: [{ host: "127.0.0.1", port: 9 }] },
      log: () => {},
    });
    try {
      const r = new Resolver({ timeout: 5_000, tries: 1 });
      r.setServers([`127.0.0.1:${lonely.addresses.dns!.port}`]);
      await expect(r.resolve4("example.test")).rejects.toMatchObject({ code: "ESERVFAIL" });
      await r.resolve4("reviews.shop");
      const metrics = await fetch(`http://127.0.0.1:${lonely.addresses.admin!.port}/stats/prometheus`);
      const text = await metrics.text();
      expect(text).toMatch(/^trellis_dns_queries_total\{result="failed"\} 1$/m);
      expect(text).toMatch(/^trellis_dns_queries_total\{result="mesh"\} 1$/m);
    } finally {
      await lonely.close();
    }
  });

  it("answers a garbled query with FORMERR and keeps serving", async () => {
    const s = dgram.createSocket("udp4");
    const reply = await new Promise<Buffer>((resolve) => {
      s.on("message", (m) => resolve(m));
      // An id, then a header that claims two questions.
      s.send(Buffer.from([0xab, 0xcd, 0, 0, 0, 2, 0, 0, 0, 0, 0, 0]), port, "127.0.0.1");
    });
    s.close();
    expect(reply.readUInt16BE(0)).toBe(0xabcd);
    expect(reply.readUInt16BE(2) & 0xf).toBe(RCODE.formErr);
    expect(await resolver.resolve4("ratings")).toEqual(["240.0.0.21"]);
  });
});
