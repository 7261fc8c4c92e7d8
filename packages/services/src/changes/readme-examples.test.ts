// The README's policy examples are what people copy: each must be a valid resource, as `trellis apply -f`
// and the console's editor read it.
import { readFileSync } from "node:fs";
import { describe, expect, it } from "vitest";
import { planFromYaml } from "./plan.js";

const readme = readFileSync(new URL("../../../../README.md", import.meta.url), "utf8");
const blocks = [...readme.matchAll(/```yaml\n([\s\S]*?)```/g)].map((m) => m[1]!);

describe("README examples", () => {
  it("has YAML examples of every resource kind", () => {
    const kinds = new Set(blocks.flatMap((b) => [...b.matchAll(/^kind: (\w+)/gm)].map((m) => m[1])));
    expect([...kinds].sort()).toEqual(["AccessPolicy", "DestinationPolicy", "MeshSettings", "Route"]);
  });

  it.each(blocks.map((b, i) => [i, b] as const))("parses YAML block %i as valid resources", (_i, block) => {
    const r = planFromYaml(block);
    expect(r.issues).toEqual([]);
    expect(r.resources.length).toBeGreaterThan(0);
  });
});
