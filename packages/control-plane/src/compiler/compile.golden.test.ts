// Golden-file tests of the policy compiler: every `testdata/<case>.input.json` is compiled and compared with
// `testdata/<case>.golden.json`. After an intended change, rewrite the goldens and review the diff:
//   UPDATE_GOLDEN=1 DATABASE_URL=… npx vitest run src/compiler
// To add a case, add an input file; its golden is written on the first UPDATE_GOLDEN run.
import { readFileSync, readdirSync, writeFileSync, existsSync } from "node:fs";
import { describe, expect, it } from "vitest";
import {
  parseResourceDocuments,
  validateProxyConfig,
  validateResource,
  type ValidationContext,
} from "@trellis/contracts";
import { CompileCache, compileProxyConfig, type CompileInput } from "./index.js";

const TESTDATA = new URL("./testdata/", import.meta.url);
const UPDATE = process.env.UPDATE_GOLDEN === "1";

/** Placeholder PEMs: the compiler copies TLS material, it never reads it. */
const TEST_TLS = {
  certPem: "-----BEGIN CERTIFICATE-----\ncert\n-----END CERTIFICATE-----\n",
  keyPem: "-----BEGIN PRIVATE KEY-----\nkey\n-----END PRIVATE KEY-----\n",
  caPem: "-----BEGIN CERTIFICATE-----\nca\n-----END CERTIFICATE-----\n",
};

interface Fixture extends Omit<CompileInput, "resources" | "tls"> {
  description: string;
  resources: unknown[];
}

function loadCase(name: string): { fixture: Fixture; input: CompileInput } {
  const fixture = JSON.parse(readFileSync(new URL(`${name}.input.json`, TESTDATA), "utf8")) as Fixture;
  const parsed = parseResourceDocuments(fixture.resources);
  if (!parsed.ok)
    throw new Error(`${name}: fixture resources do not parse: ${JSON.stringify(parsed.issues)}`);
  return {
    fixture,
    input: {
      version: fixture.version,
      resources: parsed.resources,
      registry: fixture.registry,
      proxy: fixture.proxy,
      tls: TEST_TLS,
    },
  };
}

function registryContext(input: CompileInput): ValidationContext {
  return {
    resources: input.resources,
    services: input.registry.services.map((s) => {
      const versions = new Map<string, { version: string; workloads: number; healthyWorkloads: number }>();
      for (const w of s.workloads) {
        const v = versions.get(w.version) ?? { version: w.version, workloads: 0, healthyWorkloads: 0 };
        v.workloads++;
        if (w.healthy) v.healthyWorkloads++;
        versions.set(w.version, v);
      }
      return {
        namespace: s.namespace,
        name: s.name,
        protocol: s.protocol ?? "http",
        versions: [...versions.values()],
      };
    }),
  };
}

const cases = readdirSync(TESTDATA)
  .filter((f) => f.endsWith(".input.json"))
  .map((f) => f.slice(0, -".input.json".length))
  .sort();

describe("compileProxyConfig golden files", () => {
  it("has the cases the compiler must cover", () => {
    expect(cases).toEqual(
      expect.arrayContaining([
        "canary-split",
        "no-route",
        "fault-and-retries",
        "access-allow-deny",
        "access-tcp",
        "destination-policy",
        "mtls-permissive",
        "mtls-strict",
        "no-healthy-workloads",
      ]),
    );
  });

  for (const name of cases) {
    describe(name, () => {
      const { input } = loadCase(name);
      const config = compileProxyConfig(input);
      const goldenUrl = new URL(`${name}.golden.json`, TESTDATA);
      const text = JSON.stringify(config, null, 2) + "\n";

      it("matches its golden file", () => {
        if (UPDATE || !existsSync(goldenUrl)) {
          if (!UPDATE) throw new Error(`${name}.golden.json is missing; run with UPDATE_GOLDEN=1`);
          writeFileSync(goldenUrl, text);
        }
        expect(text).toBe(readFileSync(goldenUrl, "utf8"));
      });

      it("golden output passes validateProxyConfig unchanged", () => {
        const golden: unknown = JSON.parse(readFileSync(goldenUrl, "utf8"));
        const r = validateProxyConfig(golden);
        expect(r.ok ? [] : r.issues).toEqual([]);
        // Defaults are all filled in already: parsing again changes nothing.
        if (r.ok) expect(r.config).toEqual(golden);
      });

      it("compiles to the same bytes through a CompileCache, for its proxy and a proxy of every service", () => {
        const cache = new CompileCache();
        const proxies = [
          input.proxy,
          ...input.registry.services.map((s) => ({
            namespace: s.namespace,
            service: s.name,
            version: "v1",
            workloadId: "w",
            inbound: { appPort: 8080 },
          })),
        ];
        // Twice: the second round is served from the memo.
        for (const round of [1, 2])
          for (const proxy of proxies) {
            const i = { ...input, proxy };
            expect(JSON.stringify(compileProxyConfig(i, cache)), `${proxy.service} round ${round}`).toBe(
              JSON.stringify(compileProxyConfig(i)),
            );
          }
      });

      it("its resources have no validation errors against its registry", () => {
        const ctx = registryContext(input);
        for (const r of input.resources) expect(validateResource(r, ctx).errors).toEqual([]);
      });
    });
  }
});
