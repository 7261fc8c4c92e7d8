import { readFileSync } from "node:fs";
import { describe, expect, it } from "vitest";
import { parseResourceDocuments, validateProxyConfig, type Resource } from "@trellis/contracts";
import { CompileCache, CompileError, compileProxyConfig, type CompileInput } from "./index.js";

/** Placeholder PEMs: the compiler copies TLS material, it never reads it. */
const TEST_TLS = { certPem: "cert", keyPem: "key", caPem: "ca" };

const fixture = JSON.parse(
  readFileSync(new URL("./testdata/no-healthy-workloads.input.json", import.meta.url), "utf8"),
) as CompileInput & { resources: unknown[] };

function input(resources: unknown[], over: Partial<CompileInput> = {}): CompileInput {
  const parsed = parseResourceDocuments(resources);
  if (!parsed.ok) throw new Error(JSON.stringify(parsed.issues));
  return {
    version: "t",
    resources: parsed.resources,
    registry: fixture.registry,
    proxy: fixture.proxy,
    tls: TEST_TLS,
    ...over,
  };
}

const meta = (kind: string, name: string) => ({
  apiVersion: "trellis.dev/v1alpha1",
  kind,
  metadata: { name, namespace: "shop" },
});

function shuffled<T>(xs: readonly T[], seed: number): T[] {
  const out = [...xs];
  for (let i = out.length - 1; i > 0; i--) {
    seed = (seed * 1103515245 + 12345) % 2 ** 31;
    const j = seed % (i + 1);
    [out[i], out[j]] = [out[j]!, out[i]!];
  }
  return out;
}

describe("compileProxyConfig", () => {
  it("names identities in the CA's trust domain, whatever MeshSettings asks for", () => {
    const resources = [
      {
        apiVersion: "trellis.dev/v1alpha1",
        kind: "MeshSettings",
        metadata: { name: "mesh", namespace: "trellis-system" },
        spec: { trustDomain: "elsewhere.example" },
      },
      {
        ...meta("AccessPolicy", "callers"),
        spec: { service: fixture.proxy.service, allow: [{ from: [{ service: "web" }] }] },
      },
    ];
    const fromSettings = compileProxyConfig(input(resources));
    expect(fromSettings.identity.trustDomain).toBe("elsewhere.example");
    const fromCa = compileProxyConfig(input(resources, { trustDomain: "corp.example" }));
    expect(fromCa.identity.trustDomain).toBe("corp.example");
    expect(JSON.stringify(fromCa.inbound?.authorization)).toContain("spiffe://corp.example/ns/shop/sa/web");
    expect(JSON.stringify(fromCa)).not.toContain("elsewhere.example");
  });

  it("gives a proxy that declared the services it calls only those, the same with and without the memo", () => {
    const base = input(fixture.resources);
    // Every service but data/mysql: another namespace's TCP service is bound only where declared.
    const all = base.registry.services
      .filter((s) => s.protocol !== "tcp")
      .map((s) => `${s.namespace}/${s.name}`)
      .sort();
    expect(all.length).toBeGreaterThan(1);
    const scoped = { ...base, proxy: { ...base.proxy, reachable: [all[0]!, "elsewhere/nothing"] } };
    const plain = compileProxyConfig(scoped);
    expect(plain.services.map((s) => `${s.namespace}/${s.name}`)).toEqual([all[0]]);
    const cache = new CompileCache();
    expect(compileProxyConfig(base, cache).services.length).toBe(all.length); // another group of one recompute
    expect(JSON.stringify(compileProxyConfig(scoped, cache))).toBe(JSON.stringify(plain));
    expect(compileProxyConfig({ ...base, proxy: { ...base.proxy, reachable: [] } }).services).toEqual([]);
  });

  it("is deterministic whatever order resources, services and workloads arrive in", () => {
    const base = input(fixture.resources);
    const expected = JSON.stringify(compileProxyConfig(base));
    for (const seed of [1, 2, 3, 4, 5]) {
      const services = shuffled(base.registry.services, seed).map((s) => ({
        ...s,
        workloads: shuffled(s.workloads, seed + 7),
      }));
      const again = compileProxyConfig({
        ...base,
        resources: shuffled(base.resources, seed),
        registry: { services },
      });
      expect(JSON.stringify(again)).toBe(expected);
    }
  });

  it("still produces a valid config from resources validation would refuse", () => {
    // Weights that do not sum to 100, a duplicated version, two Routes and two DestinationPolicies for one
    // service, backoff max below base, a version with no workloads at all.
    const cfg = compileProxyConfig(
      input([
        {
          ...meta("Route", "b"),
          spec: {
            service: "reviews",
            rules: [
              {
                backends: [
                  { version: "v1", weight: 30 },
                  { version: "v1", weight: 30 },
                  { version: "v9", weight: 5 },
                ],
              },
            ],
          },
        },
        {
          ...meta("Route", "a"),
          spec: {
            service: "reviews",
            rules: [
              {
                match: { path: { exact: "/x" } },
                retries: { attempts: 1, backoff: { base: "1s", max: "10ms" } },
              },
            ],
          },
        },
        {
          ...meta("DestinationPolicy", "z"),
          spec: { service: "reviews", loadBalancer: { type: "leastRequest" } },
        },
        {
          ...meta("DestinationPolicy", "y"),
          spec: { service: "reviews", loadBalancer: { type: "ringHash", header: "x" } },
        },
      ]),
    );
    expect(validateProxyConfig(cfg).ok).toBe(true);
    const reviews = cfg.services.find((s) => s.name === "reviews")!;
    expect(reviews.routes.map((r) => r.name)).toEqual(["a/rule-0", "b/rule-0"]);
    expect(reviews.routes[0]!.retries).toMatchObject({ backoffBaseMs: 1000, backoffMaxMs: 1000 });
    expect(reviews.routes[1]!.backends).toEqual([
      { version: "v1", weight: 30 },
      { version: "v1", weight: 30 },
      { version: "v9", weight: 0 },
    ]);
    expect(reviews.policy.loadBalancer).toEqual({ type: "ringHash", header: "x" });
  });

  it("keeps a service whose AccessPolicies refuse this proxy entirely: its proxy answers 403, and the name stays its", () => {
    // Left out, productpage's call to `details` would fail with 404 "unknown service", or reach a `details` of
    // another namespace (before proxies resolved bare names in their own namespace only).
    const elsewhere = {
      namespace: "other",
      name: "details",
      port: 9080,
      workloads: [{ id: "o1", version: "v1", address: "10.9.0.1:9080", identity: "", healthy: true }],
    };
    const resources = [
      {
        ...meta("AccessPolicy", "details"),
        spec: { service: "details", deny: [{ from: [{ service: "productpage" }] }] },
      },
      {
        ...meta("AccessPolicy", "ratings"),
        spec: { service: "ratings", allow: [{ from: [{ service: "reviews" }] }] },
      },
    ];
    const over = { registry: { services: [...fixture.registry.services, elsewhere] } };
    const plain = compileProxyConfig(input(resources, over));
    expect(plain.identity.service).toBe("productpage");
    expect(plain.services.map((s) => `${s.namespace}/${s.name}`)).toEqual([
      "other/details",
      "shop/details",
      "shop/productpage",
      "shop/ratings",
      "shop/reviews",
    ]);
    expect(JSON.stringify(compileProxyConfig(input(resources, over), new CompileCache()))).toBe(
      JSON.stringify(plain),
    );
  });

  it("gives a proxy without inbound no inbound section, and tcp services no routes", () => {
    const cfg = compileProxyConfig(
      input([], {
        proxy: {
          namespace: "shop",
          service: "web",
          version: "v1",
          workloadId: "w",
          reachable: ["data/mysql"],
        },
      }),
    );
    expect(cfg.inbound).toBeUndefined();
    expect(cfg.services.find((s) => s.name === "mysql")).toMatchObject({
      protocol: "tcp",
      port: 3306,
      routes: [],
    });
  });

  it("gives a TCP service's own proxies no outbound listener for it (it would take its app's port), through the memo too", () => {
    const mysql = fixture.registry.services.find((s) => s.name === "mysql")!;
    const own = { namespace: mysql.namespace, service: "mysql", version: "v1", workloadId: "w-mysql" };
    const base = input([], { proxy: own });
    const plain = compileProxyConfig(base);
    expect(plain.services.map((s) => s.name)).not.toContain("mysql");
    expect(plain.services.length).toBe(fixture.registry.services.length - 1);
    const cache = new CompileCache();
    const web = input([], { proxy: { namespace: "data", service: "web", version: "v1", workloadId: "w" } });
    expect(compileProxyConfig(web, cache).services.map((s) => s.name)).toContain("mysql"); // others still do
    expect(JSON.stringify(compileProxyConfig(base, cache))).toBe(JSON.stringify(plain));
    const scoped = { ...base, proxy: { ...own, reachable: [`${mysql.namespace}/mysql`] } };
    expect(compileProxyConfig(scoped, cache).services).toEqual([]);
    expect(compileProxyConfig(scoped).services).toEqual([]);
  });

  describe("TCP services: a port bound on 127.0.0.1 of each sidecar that gets one (decision 008)", () => {
    const tcp = (namespace: string, name: string, port: number, healthy = true) => ({
      namespace,
      name,
      protocol: "tcp" as const,
      port,
      workloads: [
        { id: `${namespace}-${name}`, version: "v1", address: "10.0.0.9:15006", identity: "", healthy },
      ],
    });
    const registry = {
      services: [
        tcp("demo", "db", 5432),
        tcp("demo", "cache", 6379, false),
        tcp("other", "secsvc", 47123),
        tcp("other", "db", 5432),
        tcp("other", "queue", 5672),
        {
          namespace: "other",
          name: "api",
          workloads: [{ id: "a", version: "v1", address: "10.0.0.8:15006", identity: "", healthy: true }],
        },
      ],
    };
    const proxy = (reachable?: string[]) => ({
      namespace: "demo",
      service: "web",
      version: "v1",
      workloadId: "w",
      ...(reachable ? { reachable } : {}),
    });
    const bound = (reachable?: string[], cache?: CompileCache) =>
      compileProxyConfig(input([], { registry, proxy: proxy(reachable) }), cache).services.map(
        (s) => `${s.namespace}/${s.name}${s.protocol === "tcp" ? `:${s.port}` : ""}`,
      );

    it("binds its own namespace's live TCP services only: another namespace's announcing a port opens nothing", () => {
      // demo/cache has no healthy workload: nothing announces 6379 any more, so no listener stays behind.
      expect(bound()).toEqual(["demo/db:5432", "other/api"]);
    });

    it("binds another namespace's TCP service where declared; its own namespace keeps a port both claim", () => {
      expect(bound(["other/queue", "other/db", "demo/db", "other/api"])).toEqual([
        "demo/db:5432",
        "other/api",
        "other/queue:5672",
      ]);
      // Two declared from other namespaces on one port: the first by namespace and name, every time.
      const two = { services: [...registry.services, tcp("third", "db", 5432)] };
      const cfg = compileProxyConfig(input([], { registry: two, proxy: proxy(["third/db", "other/db"]) }));
      expect(cfg.services.map((s) => `${s.namespace}/${s.name}`)).toEqual(["other/db"]);
    });

    it("compiles the same through the memo", () => {
      const cache = new CompileCache();
      for (const reachable of [
        undefined,
        ["other/queue", "other/db", "demo/db"],
        ["other/secsvc"],
        undefined,
      ])
        expect(bound(reachable, cache)).toEqual(bound(reachable));
      const elsewhere = compileProxyConfig(
        input([], { registry, proxy: { ...proxy(), namespace: "other" } }),
        cache,
      );
      expect(elsewhere.services.map((s) => `${s.namespace}/${s.name}`)).toEqual([
        "other/api",
        "other/db",
        "other/queue",
        "other/secsvc",
      ]);
    });
  });

  it("leaves out a workload whose stored address does not parse, keeping its service and the rest", () => {
    const workloads = [
      { id: "x", version: "v1", address: "not-an-address", identity: "", healthy: true },
      { id: "y", version: "v1", address: "10.0.0.2:15006", identity: "", healthy: true },
    ];
    const services = [{ namespace: "shop", name: "ok", workloads }];
    const plain = compileProxyConfig(input([], { registry: { services } }));
    expect(plain.services[0]!.endpoints.map((e) => e.address)).toEqual(["10.0.0.2:15006"]);
    expect(
      JSON.stringify(compileProxyConfig(input([], { registry: { services } }), new CompileCache())),
    ).toBe(JSON.stringify(plain));
  });

  it("throws CompileError with the proxy config's issues when registry data is unusable", () => {
    const services = [{ namespace: "shop", name: "Bad_Name", workloads: [] }];
    let err: unknown;
    try {
      compileProxyConfig(input([], { registry: { services } }));
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(CompileError);
    expect((err as CompileError).issues[0]!.path).toBe("services[0].name");
    // Through the memo, the same error: an entry that does not validate sends the compile down the plain path.
    expect(() => compileProxyConfig(input([], { registry: { services } }), new CompileCache())).toThrow(
      (err as Error).message,
    );
  });

  it("recompiles through a CompileCache when it is given new inputs", () => {
    const cache = new CompileCache();
    const first = input(fixture.resources);
    const a = compileProxyConfig(first, cache);
    const second = { ...first, registry: { services: first.registry.services.slice(1) } };
    const b = compileProxyConfig(second, cache);
    expect(JSON.stringify(b)).toBe(JSON.stringify(compileProxyConfig(second)));
    expect(JSON.stringify(b)).not.toBe(JSON.stringify(a));
  });

  it("does not mutate its input", () => {
    const i = input(fixture.resources);
    const before = JSON.stringify(i);
    compileProxyConfig(i);
    expect(JSON.stringify(i)).toBe(before);
    const r: readonly Resource[] = i.resources;
    expect(r.length).toBe(2);
  });
});
