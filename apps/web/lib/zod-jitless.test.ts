import { readdirSync, readFileSync } from "node:fs";
import { join, relative } from "node:path";
import { fileURLToPath } from "node:url";
import { describe, expect, it } from "vitest";

const root = fileURLToPath(new URL("..", import.meta.url));
/** A zod schema (ZThing, by the naming rule) parsing something. */
const PARSES = /\bZ[A-Z]\w*\.(safeParse|parse|safeParseAsync|parseAsync)\(/;
const IMPORTS = /^import "@\/lib\/zod-jitless";$/m;

function sources(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((e) => {
    const path = join(dir, e.name);
    if (e.isDirectory()) return e.name === "server" ? [] : sources(path); // lib/server never reaches a browser
    return /\.tsx?$/.test(e.name) && !/\.test\.tsx?$/.test(e.name) ? [path] : [];
  });
}

describe("zod-jitless", () => {
  const files = [...sources(join(root, "app")), ...sources(join(root, "lib"))];

  it("finds the console's parse sites at all", () => {
    expect(files.filter((f) => PARSES.test(readFileSync(f, "utf8"))).length).toBeGreaterThan(3);
  });

  it("is imported by every module that parses with a schema in the browser, so none probes for eval", () => {
    const missing = files
      .filter((f) => {
        const text = readFileSync(f, "utf8");
        return PARSES.test(text) && !IMPORTS.test(text);
      })
      .map((f) => relative(root, f));
    expect(missing).toEqual([]);
  });
});
