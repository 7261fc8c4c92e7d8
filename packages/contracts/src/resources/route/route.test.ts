import { describe, expect, it } from "vitest";
import { parseResource, validateResource, type ValidationContext } from "../../index.js";

const route = (spec: unknown) => ({
  apiVersion: "trellis.dev/v1alpha1",
  kind: "Route",
  metadata: { name: "reviews-canary", namespace: "default" },
  spec,
});
const canary = {
  service: "reviews",
  rules: [
    {
      backends: [
        { version: "v1", weight: 90 },
        { version: "v2", weight: 10 },
      ],
    },
  ],
};

const registry: ValidationContext = {
  services: [
    {
      namespace: "default",
      name: "reviews",
      versions: [
        { version: "v1", workloads: 2, healthyWorkloads: 2 },
        { version: "v2", workloads: 1, healthyWorkloads: 0 },
      ],
    },
    { namespace: "default", name: "mysql", protocol: "tcp", versions: [{ version: "v1", workloads: 1 }] },
  ],
};

describe("Route schema", () => {
  it("parses the canary a user writes, unchanged (no defaults are added)", () => {
    const r = parseResource(route(canary));
    expect(r).toEqual({ ok: true, resource: route(canary) });
    expect(validateResource(route(canary))).toEqual({ errors: [], warnings: [] });
  });

  it("reports problems with the paths users write", () => {
    const r = parseResource(
      route({
        service: "reviews",
        retires: { attempts: 1 },
        rules: [
          {
            match: {
              path: { exact: "/a", prefix: "/b" },
              headers: [{ name: "x-user", regex: "(" }],
              methods: ["get"],
            },
            backends: [
              { version: "v1", weight: 90 },
              { version: "v2", weight: 10.5 },
            ],
            timeout: "2 seconds",
            retries: { attempts: 11, retryOn: ["timeout"] },
            fault: {},
          },
        ],
      }),
    );
    expect(r.ok).toBe(false);
    if (r.ok) return;
    const byPath = Object.fromEntries(r.issues.map((i) => [i.path, i.message]));
    expect(byPath["spec.rules[0].backends[1].weight"]).toBe("must be a whole number");
    expect(byPath["spec.rules[0].match.path.prefix"]).toBe("give only one of exact, prefix or regex");
    expect(byPath["spec.rules[0].match.headers[0].regex"]).toMatch(/^must be a valid regular expression/);
    expect(byPath["spec.rules[0].match.methods[0]"]).toMatch(/upper-case/);
    expect(byPath["spec.rules[0].timeout"]).toMatch(/^must be a duration such as "250ms"/);
    expect(byPath["spec.rules[0].retries.attempts"]).toBeDefined();
    expect(byPath["spec.rules[0].retries.retryOn[0]"]).toBeDefined();
    expect(byPath["spec.rules[0].fault"]).toBe("give delay, abort or both");
    expect(byPath["spec"]).toMatch(/retires/);
  });

  it("bounds durations", () => {
    const r = parseResource(
      route({
        service: "reviews",
        rules: [{ timeout: "2h", retries: { attempts: 1, perTryTimeout: "0s" } }],
      }),
    );
    expect(r.ok ? [] : r.issues).toEqual([
      {
        path: "spec.rules[0].timeout",
        at: { path: ["spec", "rules", 0, "timeout"] },
        message: "must be at most 1h",
      },
      {
        path: "spec.rules[0].retries.perTryTimeout",
        at: { path: ["spec", "rules", 0, "retries", "perTryTimeout"] },
        message: "must be at least 1ms",
      },
    ]);
  });
});

describe("Route headers (RFC 9110 names and field values)", () => {
  const withRule = (rule: Record<string, unknown>) =>
    parseResource(route({ service: "reviews", rules: [rule] }));
  const paths = (r: ReturnType<typeof parseResource>) => (r.ok ? [] : r.issues.map((i) => i.path).sort());

  it("refuses CR, LF, NUL and surrounding whitespace in edited values, with the header's path", () => {
    for (const value of ["v\r\nx-evil: 1", "a\nb", "a\u0000b", " padded", "padded\t", "caf\u20ac"]) {
      for (const side of ["requestHeaders", "responseHeaders"]) {
        for (const op of ["set", "add"]) {
          const r = withRule({ [side]: { [op]: { "x-a": value } } });
          expect(paths(r), `${side}.${op} ${JSON.stringify(value)}`).toEqual([
            `spec.rules[0].${side}.${op}.x-a`,
          ]);
        }
      }
    }
    expect(withRule({ requestHeaders: { set: { "x-a": "v 1\t2", "x-b": "", "x-c": "caf\u00e9" } } }).ok).toBe(
      true,
    );
  });

  it("refuses invalid and framing header names in edits", () => {
    const r = withRule({
      requestHeaders: {
        set: { "bad name": "1", "content-length": "0" },
        remove: ["x\r\ny", "Transfer-Encoding"],
      },
    });
    expect(paths(r)).toEqual([
      "spec.rules[0].requestHeaders.remove[0]",
      "spec.rules[0].requestHeaders.remove[1]",
      "spec.rules[0].requestHeaders.set.bad name",
      "spec.rules[0].requestHeaders.set.content-length",
    ]);
  });

  it("refuses invalid names and values in header matches (query parameters keep their own rules)", () => {
    const r = withRule({
      match: {
        headers: [{ name: "x user" }, { name: "x-user", exact: "a\r\nb" }, { name: "x-v", prefix: "\n" }],
        query: [{ name: "a b", exact: "any thing" }],
      },
    });
    expect(paths(r)).toEqual([
      "spec.rules[0].match.headers[0].name",
      "spec.rules[0].match.headers[1].exact",
      "spec.rules[0].match.headers[2].prefix",
    ]);
  });
});

describe("validateResource(Route)", () => {
  it("requires weights to sum to 100", () => {
    const v = validateResource(
      route({
        service: "reviews",
        rules: [
          {
            backends: [
              { version: "v1", weight: 80 },
              { version: "v2", weight: 10 },
            ],
          },
        ],
      }),
    );
    expect(v.errors).toEqual([
      {
        path: "spec.rules[0].backends",
        at: { path: ["spec", "rules", 0, "backends"] },
        message: "weights must sum to 100 (got 90)",
      },
    ]);
  });

  it("lets a lone backend leave its weight out, but not several", () => {
    expect(
      validateResource(route({ service: "reviews", rules: [{ backends: [{ version: "v2" }] }] })).errors,
    ).toEqual([]);
    expect(
      validateResource(route({ service: "reviews", rules: [{ backends: [{ version: "v2", weight: 50 }] }] }))
        .errors,
    ).toEqual([
      {
        path: "spec.rules[0].backends",
        at: { path: ["spec", "rules", 0, "backends"] },
        message: "weights must sum to 100 (got 50)",
      },
    ]);
    expect(
      validateResource(
        route({
          service: "reviews",
          rules: [{ backends: [{ version: "v1" }, { version: "v2", weight: 100 }] }],
        }),
      ).errors,
    ).toEqual([
      {
        path: "spec.rules[0].backends[0].weight",
        at: { path: ["spec", "rules", 0, "backends", 0, "weight"] },
        message: "is required when a rule has more than one backend",
      },
    ]);
  });

  it("refuses a version twice in one rule", () => {
    const v = validateResource(
      route({
        service: "reviews",
        rules: [
          {
            backends: [
              { version: "v1", weight: 50 },
              { version: "v1", weight: 50 },
            ],
          },
        ],
      }),
    );
    expect(v.errors).toEqual([
      {
        path: "spec.rules[0].backends[1].version",
        at: { path: ["spec", "rules", 0, "backends", 1, "version"] },
        message: "duplicates backends[0] (v1)",
      },
    ]);
  });

  it("refuses rules that can never match (after a catch-all, or with an earlier rule's match)", () => {
    const v = validateResource(
      route({
        service: "reviews",
        rules: [
          {
            match: { headers: [{ name: "x-beta", exact: "1" }], methods: ["GET", "POST"] },
            backends: [{ version: "v2" }],
          },
          { match: { methods: ["POST", "GET"], headers: [{ name: "x-beta", exact: "1" }] } },
          { match: {} },
          { match: { path: { prefix: "/api" } } },
        ],
      }),
    );
    expect(v.errors).toEqual([
      {
        path: "spec.rules[1].match",
        at: { path: ["spec", "rules", 1, "match"] },
        message: "can never match: rules[0] has the same match",
      },
      {
        path: "spec.rules[3]",
        at: { path: ["spec", "rules", 3] },
        message: "can never match: rules[2] before it matches every request (put the catch-all rule last)",
      },
    ]);
  });

  it("refuses a rule an earlier, broader rule shadows, and keeps rules that a request could still reach", () => {
    const shadowed = (rules: unknown[]) =>
      validateResource(route({ service: "reviews", rules })).errors.map((e) => e.path);
    const to = (match: unknown) => ({ match, backends: [{ version: "v2" }] });
    // Broader first: the later rule never sees a request.
    expect(shadowed([to({ path: { prefix: "/api" } }), to({ path: { prefix: "/api/v2" } })])).toEqual([
      "spec.rules[1].match",
    ]);
    expect(shadowed([to({ path: { prefix: "/api" } }), to({ path: { exact: "/api/health" } })])).toEqual([
      "spec.rules[1].match",
    ]);
    expect(
      shadowed([to({ path: { prefix: "/" } }), to({ path: { prefix: "/x" }, methods: ["GET"] })]),
    ).toEqual(["spec.rules[1].match"]);
    expect(
      shadowed([to({ methods: ["GET", "HEAD"] }), to({ methods: ["GET"], path: { exact: "/" } })]),
    ).toEqual(["spec.rules[1].match"]);
    expect(
      shadowed([to({ headers: [{ name: "X-Beta" }] }), to({ headers: [{ name: "x-beta", exact: "1" }] })]),
    ).toEqual(["spec.rules[1].match"]);
    expect(
      shadowed([
        to({ headers: [{ name: "x-user", prefix: "test-" }] }),
        to({
          headers: [
            { name: "x-user", exact: "test-ann" },
            { name: "x-b", exact: "1" },
          ],
        }),
      ]),
    ).toEqual(["spec.rules[1].match"]);
    expect(
      shadowed([
        to({ query: [{ name: "debug", exact: "1" }] }),
        to({ path: { prefix: "/a" }, query: [{ name: "debug", exact: "1" }] }),
      ]),
    ).toEqual(["spec.rules[1].match"]);
    const message = validateResource(
      route({
        service: "reviews",
        rules: [to({ path: { prefix: "/api" } }), to({ path: { prefix: "/api/v2" } })],
      }),
    ).errors[0]?.message;
    expect(message).toBe(
      "can never match: rules[0] before it matches every request this rule matches (put the narrower rule first)",
    );

    // Narrower first, or rules that overlap without one containing the other: each can still match.
    expect(shadowed([to({ path: { prefix: "/api/v2" } }), to({ path: { prefix: "/api" } })])).toEqual([]);
    expect(
      shadowed([to({ path: { prefix: "/api" }, methods: ["GET"] }), to({ path: { prefix: "/api/v2" } })]),
    ).toEqual([]);
    expect(shadowed([to({ methods: ["GET"] }), to({ methods: ["GET", "POST"] })])).toEqual([]);
    expect(
      shadowed([to({ headers: [{ name: "x-beta", exact: "1" }] }), to({ headers: [{ name: "x-beta" }] })]),
    ).toEqual([]);
    expect(
      shadowed([to({ query: [{ name: "Debug" }] }), to({ query: [{ name: "debug", exact: "1" }] })]),
    ).toEqual([]); // query names are case-sensitive
    expect(
      shadowed([
        to({ headers: [{ name: "x-beta", invert: true }] }),
        to({ headers: [{ name: "x-beta", exact: "0", invert: true }] }),
      ]),
    ).toEqual([]);
    expect(shadowed([to({ path: { regex: "^/a" } }), to({ path: { prefix: "/a" } })])).toEqual([]); // no regex reasoning
  });

  it("checks retries and timeouts together", () => {
    const v = validateResource(
      route({
        service: "reviews",
        rules: [
          {
            match: { methods: ["GET"] },
            timeout: "1s",
            retries: {
              attempts: 2,
              perTryTimeout: "1s",
              retryOn: ["retriable-status-codes"],
              backoff: { base: "1s", max: "100ms" },
            },
            fault: { delay: { percent: 10, duration: "2s" } },
          },
          { retries: { attempts: 1, retriableStatusCodes: [503] } },
        ],
      }),
    );
    expect(v.errors).toEqual([
      {
        path: "spec.rules[0].retries.retriableStatusCodes",
        at: { path: ["spec", "rules", 0, "retries", "retriableStatusCodes"] },
        message: "list the status codes to retry (retryOn has retriable-status-codes)",
      },
      {
        path: "spec.rules[0].retries.backoff.max",
        at: { path: ["spec", "rules", 0, "retries", "backoff", "max"] },
        message: "must be at least base (1s)",
      },
    ]);
    expect(v.warnings).toEqual([
      {
        path: "spec.rules[0].retries.perTryTimeout",
        at: { path: ["spec", "rules", 0, "retries", "perTryTimeout"] },
        message: "1s is not shorter than timeout (1s): a try that times out leaves no time to retry",
      },
      {
        path: "spec.rules[0].fault.delay.duration",
        at: { path: ["spec", "rules", 0, "fault", "delay", "duration"] },
        message: "every delayed request will time out (timeout is 1s)",
      },
      {
        path: "spec.rules[1].retries.retriableStatusCodes",
        at: { path: ["spec", "rules", 1, "retries", "retriableStatusCodes"] },
        message: "ignored: retryOn does not include retriable-status-codes",
      },
    ]);
  });

  it("checks versions and services against the registry", () => {
    const v = validateResource(
      route({
        service: "reviews",
        rules: [
          {
            match: { path: { prefix: "/api" } },
            backends: [
              { version: "v1", weight: 90 },
              { version: "v2", weight: 10 },
              { version: "v3", weight: 0 },
            ],
          },
          { backends: [{ version: "v4" }] },
        ],
      }),
      registry,
    );
    expect(v.errors).toEqual([
      {
        path: "spec.rules[1].backends[0].version",
        at: { path: ["spec", "rules", 1, "backends", 0, "version"] },
        message: "service reviews has no workloads of version v4",
      },
    ]);
    expect(v.warnings).toEqual([
      {
        path: "spec.rules[0].backends[1].version",
        at: { path: ["spec", "rules", 0, "backends", 1, "version"] },
        message: "no workload of reviews v2 is connected now; its share goes to the rule's other versions",
      },
      {
        path: "spec.rules[0].backends[2].version",
        at: { path: ["spec", "rules", 0, "backends", 2, "version"] },
        message: "service reviews has no workloads of version v3",
      },
    ]);
    expect(validateResource(route({ ...canary, service: "ratings" }), registry)).toEqual({
      errors: [],
      warnings: [
        {
          path: "spec.service",
          at: { path: ["spec", "service"] },
          message: "no service default/ratings is registered (yet); the Route applies once it is",
        },
      ],
    });
    expect(validateResource(route({ service: "mysql", rules: [{}] }), registry).errors).toEqual([
      {
        path: "spec.service",
        at: { path: ["spec", "service"] },
        message: "default/mysql is a tcp service; Routes apply to http services only",
      },
    ]);
  });

  it("allows one Route per service, itself excepted", () => {
    const self = route(canary);
    const other = { ...route(canary), metadata: { name: "reviews-other", namespace: "default" } };
    const ctx: ValidationContext = { resources: [self as never, other as never] };
    expect(validateResource(self, ctx).errors).toEqual([
      {
        path: "spec.service",
        at: { path: ["spec", "service"] },
        message: "Route reviews-other already routes default/reviews; one Route per service",
      },
    ]);
    expect(validateResource(self, { resources: [self as never] }).errors).toEqual([]);
  });
});
