import { describe, expect, it } from "vitest";
import { accessVerdict, parseResource, validateResource, type AccessPolicySpec } from "../../index.js";

const policy = (spec: unknown, name = "reviews-callers") => ({ apiVersion: "trellis.dev/v1alpha1", kind: "AccessPolicy", metadata: { name, namespace: "shop" }, spec });
const web = { namespace: "shop", service: "web" };
const ops = { namespace: "ops", service: "prober" };
const verdict = (...specs: AccessPolicySpec[]) => (caller: { namespace: string; service: string }) =>
  accessVerdict(specs.map((spec) => ({ metadata: { namespace: "shop" }, spec })), caller);

describe("AccessPolicy schema", () => {
  it("needs allow or deny, and a who in every source", () => {
    const r = parseResource(policy({ service: "reviews" }));
    expect(r.ok ? [] : r.issues).toEqual([{ path: "spec", message: "give allow rules, deny rules or both" }]);
    const s = parseResource(policy({ service: "reviews", allow: [{ from: [{}], paths: ["/a*b"] }] }));
    expect(s.ok ? [] : s.issues.map((i) => i.path)).toEqual(["spec.allow[0].from[0]", "spec.allow[0].paths[0]"]);
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
    expect(verdict({ service: "reviews", allow: [{ from: [{ service: "web" }] }] })({ namespace: "other", service: "web" })).toBe("denied");
  });
  it("lets deny win over allow", () => {
    expect(verdict({ service: "reviews", allow: [{}] }, { service: "reviews", deny: [{ from: [{ service: "web" }] }] })(web)).toBe("denied");
  });
  it("is partial when methods or paths limit a rule", () => {
    expect(verdict({ service: "reviews", allow: [{ from: [{ service: "web" }], methods: ["GET"] }] })(web)).toBe("partial");
    expect(verdict({ service: "reviews", deny: [{ paths: ["/admin/*"] }] })(web)).toBe("partial");
  });
});

describe("validateResource(AccessPolicy)", () => {
  it("warns when every caller seen recently would be cut off, judging all policies of the service together", () => {
    const traffic = [
      { source: web, destination: { namespace: "shop", service: "reviews" } },
      { source: ops, destination: { namespace: "shop", service: "reviews" } },
      { source: ops, destination: { namespace: "shop", service: "ratings" } },
    ];
    const onlyAdmin = policy({ service: "reviews", allow: [{ from: [{ service: "admin" }] }] });
    expect(validateResource(onlyAdmin, { traffic }).warnings).toEqual([{ path: "spec", message: "cuts off every caller seen recently: ops/prober, shop/web" }]);
    // Another policy in force still allows web: not everyone is cut off.
    const allowWeb = parseResource(policy({ service: "reviews", allow: [{ from: [{ service: "web" }] }] }, "allow-web"));
    if (!allowWeb.ok) throw new Error("fixture");
    expect(validateResource(onlyAdmin, { traffic, resources: [allowWeb.resource] }).warnings).toEqual([]);
  });

  it("warns about a deny-everything rule and unknown services", () => {
    const v = validateResource(policy({ service: "reviews", deny: [{}], allow: [{ from: [{ service: "wbe" }] }] }), {
      services: [{ namespace: "shop", name: "reviews", versions: [] }],
    });
    expect(v.errors).toEqual([]);
    expect(v.warnings).toEqual([
      { path: "spec.deny[0]", message: "refuses every request to shop/reviews" },
      { path: "spec.allow[0].from[0].service", message: "no service shop/wbe is registered" },
    ]);
  });
});
