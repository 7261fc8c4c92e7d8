import { describe, expect, it } from "vitest";
import { accessVerdict, parseResource, validateResource, type AccessPolicySpec } from "../../index.js";

const policy = (spec: unknown, name = "reviews-callers") => ({
  apiVersion: "trellis.dev/v1alpha1",
  kind: "AccessPolicy",
  metadata: { name, namespace: "shop" },
  spec,
});
const web = { namespace: "shop", service: "web" };
const ops = { namespace: "ops", service: "prober" };
const verdict =
  (...specs: AccessPolicySpec[]) =>
  (caller: { namespace: string; service: string }) =>
    accessVerdict(
      specs.map((spec) => ({ metadata: { namespace: "shop" }, spec })),
      caller,
    );
const tcpVerdict =
  (...specs: AccessPolicySpec[]) =>
  (caller: { namespace: string; service: string }) =>
    accessVerdict(
      specs.map((spec) => ({ metadata: { namespace: "shop" }, spec })),
      caller,
      "tcp",
    );

describe("AccessPolicy schema", () => {
  it("needs allow or deny, and a who in every source", () => {
    const r = parseResource(policy({ service: "reviews" }));
    expect(r.ok ? [] : r.issues).toEqual([
      { path: "spec", at: { path: ["spec"] }, message: "give allow rules, deny rules or both" },
    ]);
    const s = parseResource(policy({ service: "reviews", allow: [{ from: [{}], paths: ["/a*b"] }] }));
    expect(s.ok ? [] : s.issues.map((i) => i.path)).toEqual([
      "spec.allow[0].from[0]",
      "spec.allow[0].paths[0]",
    ]);
  });
});

describe("accessVerdict", () => {
  it("allows everyone when there is no allow rule and nothing is denied", () => {
    expect(verdict({ service: "reviews", deny: [{ from: [{ namespace: "ops" }] }] })(web)).toBe("allowed");
  });
  it("denies whoever no allow rule names", () => {
    expect(verdict({ service: "reviews", allow: [{ from: [{ service: "web" }] }] })(ops)).toBe("denied");
    expect(verdict({ service: "reviews", allow: [{ from: [{ service: "web" }] }] })(web)).toBe("allowed");
  });
  it("reads a source without namespace as the policy's namespace", () => {
    expect(
      verdict({ service: "reviews", allow: [{ from: [{ service: "web" }] }] })({
        namespace: "other",
        service: "web",
      }),
    ).toBe("denied");
  });
  it("lets deny win over allow", () => {
    expect(
      verdict(
        { service: "reviews", allow: [{}] },
        { service: "reviews", deny: [{ from: [{ service: "web" }] }] },
      )(web),
    ).toBe("denied");
  });
  it("is partial when methods or paths limit a rule", () => {
    expect(
      verdict({ service: "reviews", allow: [{ from: [{ service: "web" }], methods: ["GET"] }] })(web),
    ).toBe("partial");
    expect(verdict({ service: "reviews", deny: [{ paths: ["/admin/*"] }] })(web)).toBe("partial");
  });
});

describe("accessVerdict over TCP (what the sidecar enforces on connections)", () => {
  it("matches HTTP when rules name callers only", () => {
    expect(tcpVerdict({ service: "ratings", allow: [{ from: [{ service: "web" }] }] })(web)).toBe("allowed");
    expect(tcpVerdict({ service: "ratings", allow: [{ from: [{ service: "web" }] }] })(ops)).toBe("denied");
    expect(tcpVerdict({ service: "ratings", deny: [{ from: [{ namespace: "ops" }] }] })(web)).toBe("allowed");
  });
  it("never allows by an allow rule with methods or paths", () => {
    expect(
      tcpVerdict({ service: "ratings", allow: [{ from: [{ service: "web" }], methods: ["GET"] }] })(web),
    ).toBe("denied");
    expect(
      tcpVerdict({ service: "ratings", allow: [{ paths: ["/"] }, { from: [{ service: "web" }] }] })(web),
    ).toBe("allowed");
  });
  it("applies a deny rule with methods or paths on its callers alone", () => {
    expect(
      tcpVerdict({ service: "ratings", deny: [{ from: [{ service: "web" }], paths: ["/admin/*"] }] })(web),
    ).toBe("denied");
    expect(
      tcpVerdict({ service: "ratings", deny: [{ from: [{ service: "web" }], paths: ["/admin/*"] }] })(ops),
    ).toBe("allowed");
    expect(tcpVerdict({ service: "ratings", deny: [{ paths: ["/admin/*"] }] })(ops)).toBe("denied");
  });
});

describe("validateResource(AccessPolicy)", () => {
  it("warns about methods and paths in rules for a TCP service, and judges its callers by connection", () => {
    const services = [{ namespace: "shop", name: "ratings", protocol: "tcp" as const, versions: [] }];
    const p = policy({
      service: "ratings",
      allow: [{ from: [{ service: "web" }], methods: ["GET"] }],
      deny: [{ from: [{ service: "web" }], paths: ["/x"] }],
    });
    expect(
      validateResource(p, { services: [...services, { namespace: "shop", name: "web", versions: [] }] })
        .warnings,
    ).toEqual([
      {
        path: "spec.allow[0]",
        at: { path: ["spec", "allow", 0] },
        message: "shop/ratings is a TCP service: a rule with methods or paths allows no connection to it",
      },
      {
        path: "spec.deny[0]",
        at: { path: ["spec", "deny", 0] },
        message:
          "shop/ratings is a TCP service: methods and paths are ignored, the rule denies every connection of the callers it names",
      },
    ]);
    // Over HTTP the allow rule lets web's GETs through; over TCP it cuts web off.
    const traffic = [{ source: web, destination: { namespace: "shop", service: "ratings" } }];
    const getOnly = policy({ service: "ratings", allow: [{ from: [{ service: "web" }], methods: ["GET"] }] });
    expect(validateResource(getOnly, { traffic }).warnings).toEqual([]);
    expect(validateResource(getOnly, { traffic, services }).warnings).toContainEqual({
      path: "spec",
      at: { path: ["spec"] },
      message: "cuts off every caller seen recently: shop/web",
    });
  });

  it("warns when every caller seen recently would be cut off, judging all policies of the service together", () => {
    const traffic = [
      { source: web, destination: { namespace: "shop", service: "reviews" } },
      { source: ops, destination: { namespace: "shop", service: "reviews" } },
      { source: ops, destination: { namespace: "shop", service: "ratings" } },
    ];
    const onlyAdmin = policy({ service: "reviews", allow: [{ from: [{ service: "admin" }] }] });
    expect(validateResource(onlyAdmin, { traffic }).warnings).toEqual([
      {
        path: "spec",
        at: { path: ["spec"] },
        message: "cuts off every caller seen recently: ops/prober, shop/web",
      },
    ]);
    // Another policy in force still allows web: not everyone is cut off.
    const allowWeb = parseResource(
      policy({ service: "reviews", allow: [{ from: [{ service: "web" }] }] }, "allow-web"),
    );
    if (!allowWeb.ok) throw new Error("fixture");
    expect(validateResource(onlyAdmin, { traffic, resources: [allowWeb.resource] }).warnings).toEqual([]);
  });

  it("warns about a deny-everything rule and unknown services", () => {
    const v = validateResource(
      policy({ service: "reviews", deny: [{}], allow: [{ from: [{ service: "wbe" }] }] }),
      {
        services: [{ namespace: "shop", name: "reviews", versions: [] }],
      },
    );
    expect(v.errors).toEqual([]);
    expect(v.warnings).toEqual([
      {
        path: "spec.deny[0]",
        at: { path: ["spec", "deny", 0] },
        message: "refuses every request to shop/reviews",
      },
      {
        path: "spec.allow[0].from[0].service",
        at: { path: ["spec", "allow", 0, "from", 0, "service"] },
        message: "no service shop/wbe is registered",
      },
    ]);
  });
});

describe("accessVerdict for requests (a method and a path, or an observed prefix)", () => {
  const judge = (spec: AccessPolicySpec, method: string, path: string, caller = web) =>
    accessVerdict([{ metadata: { namespace: "shop" }, spec }], caller, "http", { method, path });
  const reads: AccessPolicySpec = {
    service: "reviews",
    allow: [{ from: [{ service: "web" }], methods: ["GET"], paths: ["/api/*", "/"] }],
    deny: [{ paths: ["/api/admin/*"] }],
  };

  it("matches paths as the sidecar does: exact, or a prefix ending in *; the query left out", () => {
    expect(judge(reads, "GET", "/api/items/1?x=1")).toBe("allowed");
    expect(judge(reads, "GET", "/")).toBe("allowed");
    expect(judge(reads, "GET", "/api")).toBe("denied"); // `/api/*` is under /api/, not /api itself
    expect(judge(reads, "POST", "/api/items")).toBe("denied");
    expect(judge(reads, "GET", "/api/admin/users")).toBe("denied");
    expect(judge(reads, "GET", "/api/items", ops)).toBe("denied");
  });

  it("judges an observed prefix as all the paths under it, and OTHER as every non-standard method", () => {
    // Part of /api/* is denied: which requests were refused depends on their paths.
    expect(judge(reads, "GET", "/api/*")).toBe("partial");
    expect(judge(reads, "GET", "/*")).toBe("partial");
    expect(judge({ service: "reviews", allow: [{ methods: ["GET"] }] }, "GET", "/*")).toBe("allowed");
    expect(judge({ service: "reviews", allow: [{ methods: ["GET"] }] }, "OTHER", "/x")).toBe("denied");
    expect(judge({ service: "reviews", allow: [{ methods: ["GET", "PURGE"] }] }, "OTHER", "/x")).toBe(
      "partial",
    );
    expect(judge({ service: "reviews", allow: [{}] }, "OTHER", "/x")).toBe("allowed");
  });
});
