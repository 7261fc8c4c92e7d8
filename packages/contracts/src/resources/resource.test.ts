import { describe, expect, it } from "vitest";
import {
  parseDuration,
  parseResource,
  parseResourceDocuments,
  parseStoredResource,
  resourceKey,
  validateResource,
  ZResource,
} from "../index.js";

const route = {
  apiVersion: "trellis.dev/v1alpha1",
  kind: "Route",
  metadata: { name: "r", namespace: "shop" },
  spec: { service: "reviews", rules: [{}] },
};

describe("parseDuration", () => {
  it("reads durations as users write them", () => {
    expect(parseDuration("250ms")).toBe(250);
    expect(parseDuration("2s")).toBe(2_000);
    expect(parseDuration("1.5s")).toBe(1_500);
    expect(parseDuration("1m")).toBe(60_000);
    expect(parseDuration("1m30s")).toBe(90_000);
    expect(parseDuration("1h")).toBe(3_600_000);
    expect(parseDuration("0s")).toBe(0);
    for (const bad of ["", "2", "2 s", "-1s", "1d", "s", "1.s"]) expect(parseDuration(bad)).toBeUndefined();
  });
});

describe("parseStoredResource", () => {
  it("restores the envelope the database does not keep, and parses as parseResource does", () => {
    const stored = { kind: "Route", namespace: "shop", name: "r", spec: route.spec };
    expect(parseStoredResource(stored)).toEqual(parseResource(route));
    expect(parseStoredResource(stored)).toMatchObject({
      ok: true,
      resource: { metadata: { name: "r", namespace: "shop" } },
    });
    // A stored spec that a tightened schema no longer accepts is reported, never thrown.
    expect(parseStoredResource({ ...stored, spec: { rules: [{}] } })).toMatchObject({ ok: false });
    expect(parseStoredResource({ ...stored, kind: "VirtualService" })).toMatchObject({ ok: false });
  });
});

describe("parseResource", () => {
  it("checks the envelope first, with one issue per mistake", () => {
    expect(parseResource("kind: Route")).toEqual({
      ok: false,
      issues: [
        { path: "", at: { path: [] }, message: "must be an object with apiVersion, kind, metadata and spec" },
      ],
    });
    expect(parseResource({ ...route, apiVersion: "v1", kind: "VirtualService" })).toEqual({
      ok: false,
      issues: [
        { path: "apiVersion", at: { path: ["apiVersion"] }, message: "must be trellis.dev/v1alpha1" },
        {
          path: "kind",
          at: { path: ["kind"] },
          message: "must be one of Route, DestinationPolicy, AccessPolicy, MeshSettings",
        },
      ],
    });
    const r = parseResource({ ...route, metadata: { name: "Bad_Name", namespace: "shop" } });
    expect(r.ok ? [] : r.issues.map((i) => i.path)).toEqual(["metadata.name"]);
  });

  it("agrees with ZResource, and its output parses again to itself", () => {
    const r = parseResource(route);
    expect(r.ok).toBe(true);
    if (!r.ok) return;
    expect(ZResource.parse(r.resource)).toEqual(r.resource);
    expect(resourceKey(r.resource)).toBe("Route/shop/r");
  });

  it("validateResource returns schema issues as errors", () => {
    expect(validateResource({ ...route, spec: { service: "reviews", rules: [] } })).toEqual({
      errors: [{ path: "spec.rules", at: { path: ["spec", "rules"] }, message: "give at least one rule" }],
      warnings: [],
    });
  });
});

describe("multi-document input", () => {
  it("parses every document, skips empty ones and refuses duplicates", () => {
    const ok = parseResourceDocuments([
      route,
      null,
      { ...route, kind: "AccessPolicy", spec: { service: "reviews", deny: [{}] } },
    ]);
    expect(ok.ok && ok.resources.map(resourceKey)).toEqual(["Route/shop/r", "AccessPolicy/shop/r"]);
    const bad = parseResourceDocuments([
      route,
      { ...route, spec: { service: "reviews", rules: [{ timeout: "soon" }] } },
      7,
    ]);
    expect(bad.ok ? [] : bad.issues).toEqual([
      {
        path: "[1].spec.rules[0].timeout",
        at: { doc: 1, path: ["spec", "rules", 0, "timeout"] },
        message: 'must be a duration such as "250ms", "2s", "1m" or "1m30s"',
      },
      {
        path: "[2]",
        at: { doc: 2, path: [] },
        message: "must be an object with apiVersion, kind, metadata and spec",
      },
    ]);
    const dup = parseResourceDocuments([route, route]);
    expect(dup.ok ? [] : dup.issues).toEqual([
      {
        path: "[1].metadata.name",
        at: { doc: 1, path: ["metadata", "name"] },
        message: "duplicates document [0] (Route/shop/r)",
      },
    ]);
  });
});
