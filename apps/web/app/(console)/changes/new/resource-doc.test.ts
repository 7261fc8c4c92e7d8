import { describe, expect, it } from "vitest";
import { RETRY_ON, ZRouteRuleSpec, parseResource } from "@trellis/contracts";
import { applyEdit, describeProblem, getIn, parseText, toYaml, type Edit } from "./resource-doc";
import { fieldSpec, keyOrder, resourceSchema, variantKeys, type Path } from "./resource-schema";
import { template } from "./templates";

// One resource of every kind, using most of what the form shows, keys written in the order the schemas
// declare them (which is the order the form must produce).
const ROUTE = {
  apiVersion: "trellis.dev/v1alpha1",
  kind: "Route",
  metadata: { name: "reviews-canary", namespace: "shop" },
  spec: {
    service: "reviews",
    rules: [
      {
        name: "api",
        match: {
          path: { prefix: "/api" },
          methods: ["GET", "POST"],
          headers: [{ name: "x-canary", exact: "1", invert: true }],
        },
        backends: [
          { version: "v1", weight: 90 },
          { version: "v2", weight: 10 },
        ],
        timeout: "2s",
        retries: { attempts: 2, perTryTimeout: "500ms", retryOn: ["5xx", "reset"] },
        fault: { delay: { percent: 5, duration: "100ms" }, abort: { percent: 1, status: 503 } },
      },
      { backends: [{ version: "v1" }] },
    ],
  },
};

const DESTINATION_POLICY = {
  apiVersion: "trellis.dev/v1alpha1",
  kind: "DestinationPolicy",
  metadata: { name: "reviews", namespace: "shop" },
  spec: {
    service: "reviews",
    loadBalancer: { type: "ringHash", header: "x-user-id" },
    circuitBreaker: { maxConnections: 100, maxPendingRequests: 10, maxRequests: 200 },
    outlierDetection: { consecutive5xx: 5, baseEjectionTime: "30s", maxEjectionPercent: 50 },
    rateLimit: { requestsPerUnit: 100, unit: "second", burst: 20, perCaller: true },
    healthCheck: { path: "/healthz", interval: "5s" },
    idleTimeout: "60s",
  },
};

const ACCESS_POLICY = {
  apiVersion: "trellis.dev/v1alpha1",
  kind: "AccessPolicy",
  metadata: { name: "ratings-access", namespace: "shop" },
  spec: {
    service: "ratings",
    allow: [
      { from: [{ service: "reviews" }, { namespace: "ops" }], methods: ["GET"], paths: ["/ratings/*"] },
    ],
    deny: [{ paths: ["/admin/*"] }],
  },
};

const MESH_SETTINGS = {
  apiVersion: "trellis.dev/v1alpha1",
  kind: "MeshSettings",
  metadata: { name: "mesh", namespace: "trellis-system" },
  spec: {
    trustDomain: "example.org",
    mtls: { mode: "permissive" },
    telemetry: { accessLog: true, reportInterval: "10s" },
    defaults: { timeout: "15s", retries: { attempts: 1 } },
  },
};

const SAMPLES = {
  Route: ROUTE,
  DestinationPolicy: DESTINATION_POLICY,
  AccessPolicy: ACCESS_POLICY,
  MeshSettings: MESH_SETTINGS,
};

/**
 * The form edits that build `value` from nothing, as a user clicking through the form would make them: lists
 * of objects get an item added (the "Add …" buttons), then their fields filled; lists of scalars are set whole
 * (a comma-separated field). Keys are visited last-first, so the order in the YAML must come from the schema.
 */
function formEdits(value: unknown, path: Path = []): Edit[] {
  if (Array.isArray(value) && value.some((v) => typeof v === "object" && v !== null)) {
    return value.flatMap((item, i) => [
      { op: "insert" as const, path, value: {} },
      ...formEdits(item, [...path, i]),
    ]);
  }
  if (typeof value === "object" && value !== null && !Array.isArray(value)) {
    return Object.entries(value)
      .reverse()
      .flatMap(([k, v]) => formEdits(v, [...path, k]));
  }
  return [{ op: "set", path, value }];
}

describe("form → YAML → form", () => {
  for (const [kind, sample] of Object.entries(SAMPLES)) {
    it(`is the identity for a ${kind}`, () => {
      // The sample is a valid resource: the form's output is what the server accepts.
      expect(parseResource(sample).ok).toBe(true);
      let text = toYaml({ kind });
      for (const e of formEdits(sample)) text = applyEdit(text, 0, e);
      const back = parseText(text);
      expect(back.problem).toBeNull();
      expect(back.values[0]).toEqual(sample);
      // Stable key order: the schema's, whatever order the fields were filled in.
      expect(JSON.stringify(back.values[0])).toBe(JSON.stringify(sample));
      // And printing the form's value then reading it again changes nothing.
      expect(parseText(toYaml(back.values[0])).values[0]).toEqual(sample);
    });
  }
});

describe("a form edit keeps what the form does not show", () => {
  const written = `# canary for reviews
apiVersion: trellis.dev/v1alpha1
kind: Route
metadata: { namespace: shop, name: reviews }
spec:
  service: reviews
  rules:
    - match:
        query: [{ name: debug }]   # the form has no query widget
      backends:
        - { weight: 90, version: v1 } # weight first, as the author wrote it
        - { version: v2, weight: 10 }
      requestHeaders: { set: { x-route: canary } }
      mirror: shadow              # unknown to the schema: the server will say so, the editor keeps it
`;

  it("changes only the edited line", () => {
    const after = applyEdit(written, 0, {
      op: "set",
      path: ["spec", "rules", 0, "backends", 1, "weight"],
      value: 15,
    });
    const [a, b] = [written.split("\n"), after.split("\n")];
    expect(b).toHaveLength(a.length);
    const changed = a.flatMap((line, i) => (line === b[i] ? [] : [[line, b[i]]]));
    expect(changed).toEqual([
      ["        - { version: v2, weight: 10 }", "        - { version: v2, weight: 15 }"],
    ]);
  });

  it("quotes a typed value where the author's layout would change its meaning", () => {
    const flow = "kind: Route\nspec:\n  rules:\n    - match: { headers: [{ name: x, exact: y }] }\n";
    const after = applyEdit(flow, 0, {
      op: "set",
      path: ["spec", "rules", 0, "match", "headers", 0, "exact"],
      value: "a, b",
    });
    expect(getIn(parseText(after).values[0], ["spec", "rules", 0, "match", "headers", 0])).toEqual({
      name: "x",
      exact: "a, b",
    });
  });

  it("keeps unknown fields, comments and the author's key order when a key is added", () => {
    const after = applyEdit(written, 0, { op: "set", path: ["spec", "rules", 0, "timeout"], value: "3s" });
    const rule = getIn(parseText(after).values[0], ["spec", "rules", 0]) as Record<string, unknown>;
    expect(Object.keys(rule)).toEqual(["match", "backends", "timeout", "requestHeaders", "mirror"]);
    expect(rule.mirror).toBe("shadow");
    expect(rule.requestHeaders).toEqual({ set: { "x-route": "canary" } });
    expect(rule.match).toEqual({ query: [{ name: "debug" }] });
    expect(Object.keys((rule.backends as object[])[0]!)).toEqual(["weight", "version"]);
    expect(after).toContain("# canary for reviews");
    expect(after).toContain("# the form has no query widget");
    expect(after).toContain("# weight first, as the author wrote it");
    expect(after).toContain("metadata: { namespace: shop, name: reviews }");
  });

  it("leaves the other documents of the text alone", () => {
    const two = `${toYaml(ACCESS_POLICY)}---\n# second\n${written}`;
    const after = applyEdit(two, 1, { op: "set", path: ["spec", "service"], value: "ratings" });
    expect(after.startsWith(toYaml(ACCESS_POLICY))).toBe(true);
    const values = parseText(after).values;
    expect(values[0]).toEqual(ACCESS_POLICY);
    expect(getIn(values[1], ["spec", "service"])).toBe("ratings");
    expect(getIn(values[1], ["spec", "rules", 0, "mirror"])).toBe("shadow");
  });
});

describe("applyEdit", () => {
  const route = toYaml(ROUTE);
  const rule0 = ["spec", "rules", 0] as const;

  it("removes a key and every map that leaves empty, but not the rule itself", () => {
    let t = applyEdit(route, 0, {
      op: "set",
      path: [...rule0, "fault", "delay", "percent"],
      value: undefined,
    });
    t = applyEdit(t, 0, { op: "set", path: [...rule0, "fault", "delay", "duration"], value: undefined });
    expect(getIn(parseText(t).values[0], [...rule0, "fault"])).toEqual({
      abort: { percent: 1, status: 503 },
    });
    t = applyEdit(t, 0, { op: "remove", path: [...rule0, "fault", "abort"] });
    expect(getIn(parseText(t).values[0], [...rule0, "fault"])).toBeUndefined();

    // The second rule's only backend: the list goes, the rule stays as `{}` (it then matches everything).
    t = applyEdit(t, 0, { op: "remove", path: ["spec", "rules", 1, "backends", 0] });
    expect(getIn(parseText(t).values[0], ["spec", "rules", 1])).toEqual({});
  });

  it("never removes a top-level key by emptying it", () => {
    const t = applyEdit(toYaml(MESH_SETTINGS), 0, {
      op: "set",
      path: ["spec", "trustDomain"],
      value: undefined,
    });
    let u = t;
    for (const k of ["mtls", "telemetry", "defaults"])
      u = applyEdit(u, 0, { op: "remove", path: ["spec", k] });
    expect(getIn(parseText(u).values[0], ["spec"])).toEqual({});
  });

  it("inserts and moves list items", () => {
    let t = applyEdit(route, 0, {
      op: "insert",
      path: ["spec", "rules"],
      value: { name: "first" },
      index: 0,
    });
    expect((getIn(parseText(t).values[0], ["spec", "rules"]) as unknown[]).length).toBe(3);
    expect(getIn(parseText(t).values[0], ["spec", "rules", 0, "name"])).toBe("first");
    t = applyEdit(t, 0, { op: "move", path: ["spec", "rules"], from: 0, to: 2 });
    expect(getIn(parseText(t).values[0], ["spec", "rules", 2, "name"])).toBe("first");
    expect(getIn(parseText(t).values[0], ["spec", "rules", 0, "name"])).toBe("api");
  });

  it("writes a new list item like its siblings, and opens up an emptied map in block style", () => {
    const flowRows = applyEdit(
      toYaml({ kind: "Route" }) + "spec:\n  rules:\n    - backends:\n        - { version: v1, weight: 90 }\n",
      0,
      {
        op: "insert",
        path: ["spec", "rules", 0, "backends"],
        value: { version: "v2", weight: 10 },
      },
    );
    expect(flowRows).toContain("        - { version: v2, weight: 10 }\n");
    let t = applyEdit(flowRows, 0, { op: "remove", path: ["spec", "rules", 0, "backends"] });
    expect(t).toContain("  rules:\n    - {}\n");
    t = applyEdit(t, 0, { op: "insert", path: ["spec", "rules", 0, "backends"], value: { version: "v1" } });
    expect(t).toContain("  rules:\n    - backends:\n        - version: v1\n");
  });

  it("does not keep the quotes an empty value needed", () => {
    const t = applyEdit(toYaml({ kind: "Route", spec: { service: "" } }), 0, {
      op: "set",
      path: ["spec", "service"],
      value: "reviews",
    });
    expect(t).toContain("  service: reviews\n");
  });

  it("replaces a scalar of another type, and a scalar where the form needs a map", () => {
    let t = applyEdit("kind: Route\nspec:\n  rules:\n    - match: everything\n      timeout: '2s'\n", 0, {
      op: "set",
      path: ["spec", "rules", 0, "match", "path", "prefix"],
      value: "/",
    });
    t = applyEdit(t, 0, { op: "set", path: ["spec", "rules", 0, "timeout"], value: "3s" });
    expect(t).toContain("timeout: '3s'"); // same type: the author's quoting stays
    t = applyEdit(t, 0, { op: "set", path: ["spec", "rules", 0, "timeout"], value: 3 });
    expect(getIn(parseText(t).values[0], ["spec", "rules", 0])).toEqual({
      match: { path: { prefix: "/" } },
      timeout: 3,
    });
  });

  it("returns a text with a syntax error unchanged", () => {
    const bad = "kind: Route\nspec: [not, a, route";
    expect(applyEdit(bad, 0, { op: "set", path: ["spec", "service"], value: "x" })).toBe(bad);
  });
});

describe("parseText", () => {
  it("says on which line the YAML is wrong", () => {
    const p = parseText("kind: Route\nspec: [not, a, route").problem;
    expect(p).not.toBeNull();
    expect(p!.line).toBe(2);
    expect(describeProblem(p!)).toMatch(/^line 2, column \d+: Flow sequence/);
    expect(describeProblem(p!)).not.toMatch(/ at line/);
  });

  it("refuses duplicate keys, as the server does", () => {
    expect(parseText("kind: Route\nkind: Route\n").problem?.line).toBe(2);
  });

  it("reads every document", () => {
    const p = parseText(`${toYaml(ROUTE)}---\n${toYaml(MESH_SETTINGS)}`);
    expect(p.problem).toBeNull();
    expect(p.values).toEqual([ROUTE, MESH_SETTINGS]);
  });
});

describe("fields come from the contracts' schemas", () => {
  const route = resourceSchema("Route")!;
  it("reads each field's widget off its schema", () => {
    expect(fieldSpec(route, ["spec", "service"])).toEqual({ kind: "text", optional: false });
    expect(fieldSpec(route, ["spec", "rules", 0, "backends", 1, "weight"])).toEqual({
      kind: "number",
      optional: true,
    });
    expect(fieldSpec(route, ["spec", "rules", 0, "match", "methods"])).toEqual({
      kind: "list",
      item: "text",
      optional: true,
    });
    expect(fieldSpec(route, ["spec", "rules", 0, "retries", "retryOn"])).toEqual({
      kind: "choices",
      options: RETRY_ON,
      optional: true,
    });
    expect(fieldSpec(route, ["spec", "rules", 0, "retries", "retriableStatusCodes"])).toMatchObject({
      kind: "list",
      item: "number",
    });
    expect(fieldSpec(route, ["spec", "rules", 0, "match", "headers", 0, "invert"])).toEqual({
      kind: "boolean",
      optional: true,
    });
    expect(fieldSpec(route, ["kind"])).toEqual({ kind: "fixed", value: "Route" });
    expect(fieldSpec(route, ["spec", "nonsense"])).toEqual({ kind: "other", optional: true });
  });

  it("offers a union's variants and an enum's values", () => {
    const dp = resourceSchema("DestinationPolicy")!;
    expect(fieldSpec(dp, ["spec", "loadBalancer", "type"])).toEqual({
      kind: "choice",
      options: ["roundRobin", "leastRequest", "ringHash"],
      optional: false,
    });
    expect(fieldSpec(dp, ["spec", "loadBalancer", "header"])).toEqual({ kind: "text", optional: false });
    expect(fieldSpec(dp, ["spec", "rateLimit", "unit"])).toMatchObject({
      kind: "choice",
      options: ["second", "minute", "hour"],
    });
    expect(fieldSpec(resourceSchema("MeshSettings")!, ["metadata", "name"])).toEqual({
      kind: "fixed",
      value: "mesh",
    });
  });

  it("orders keys as the schema declares them", () => {
    expect(keyOrder(route, ["spec", "rules", 3])).toEqual(Object.keys(ZRouteRuleSpec.shape));
    expect(keyOrder(route, [])).toEqual(["apiVersion", "kind", "metadata", "spec"]);
    expect(keyOrder(resourceSchema("DestinationPolicy")!, ["spec", "loadBalancer"])).toEqual([
      "type",
      "header",
    ]);
    expect(resourceSchema("Gateway")).toBeNull();
  });
});

describe("variantKeys", () => {
  it("names the fields of the load balancer picked", () => {
    const dp = resourceSchema("DestinationPolicy")!;
    const at = ["spec", "loadBalancer"];
    expect(variantKeys(dp, at, { type: "ringHash" })).toEqual(["type", "header"]);
    expect(variantKeys(dp, at, { type: "leastRequest" })).toEqual(["type"]);
    expect(variantKeys(dp, at, undefined)).toEqual([]);
    expect(variantKeys(dp, ["spec", "circuitBreaker"], undefined)).toEqual([
      "maxConnections",
      "maxPendingRequests",
      "maxRequests",
    ]);
  });
});

describe("templates", () => {
  it("are valid resources the form can edit", () => {
    for (const kind of ["Route", "DestinationPolicy", "AccessPolicy", "MeshSettings"]) {
      const p = parseText(template(kind, "shop", "reviews"));
      expect(p.problem).toBeNull();
      expect(parseResource(p.values[0]).ok).toBe(true);
      expect(resourceSchema(getIn(p.values[0], ["kind"]))).not.toBeNull();
    }
  });
});
