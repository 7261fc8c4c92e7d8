import { describe, expect, it } from "vitest";
import { safeCallbackPath } from "./safe-callback";

const OWN = "http://localhost:3000";

describe("safeCallbackPath", () => {
  it.each([
    // Protocol-relative and its disguises.
    "//evil.example/",
    "/.//evil.example/",
    "/./\\/evil.example/",
    "/..//evil.example/",
    "/a/..//evil.example/",
    "///evil.example/",
    // Backslashes: browsers read them as slashes in http(s) URLs.
    "/\\evil.example",
    "\\/\\/evil.example",
    "\\\\evil.example",
    "/\\\\evil.example",
    // Tabs, newlines and leading spaces the URL parser drops.
    "/\t/evil.example",
    "/\n/evil.example",
    "/\r\n/evil.example",
    "\n//evil.example",
    " //evil.example",
    "\t\\\\evil.example",
    // Other schemes and absolute URLs.
    "javascript:alert(1)",
    "JaVaScRiPt:alert(1)",
    "java\tscript:alert(1)",
    "data:text/html,<script>alert(1)</script>",
    "https://evil.example/",
    "http://evil.example/path",
    "https://localhost:3000.evil.example/",
    "http://localhost:3000@evil.example/",
    "ftp://evil.example/",
    // Not strings, empty, unparsable.
    "",
    undefined,
    null,
    ["/a", "/b"],
    "http://[::1",
  ])("sends %j to /", (raw) => {
    expect(safeCallbackPath(raw)).toBe("/");
    expect(safeCallbackPath(raw, OWN)).toBe("/");
  });

  it.each([
    ["/", "/"],
    ["/proxies", "/proxies"],
    ["/changes/12?tab=diff#ops", "/changes/12?tab=diff#ops"],
    // Encoded slashes stay encoded: a path segment, never a host.
    ["/%2F%2Fevil.example", "/%2F%2Fevil.example"],
    ["%2F%2Fevil.example", "/%2F%2Fevil.example"],
    ["/%5Cevil.example", "/%5Cevil.example"],
    // Dot segments resolve as the browser would.
    ["/a/../proxies", "/proxies"],
    // A query may hold anything: it is not where the browser goes.
    ["/ok?next=//evil.example", "/ok?next=//evil.example"],
  ])("keeps same-origin %j as %j", (raw, path) => {
    expect(safeCallbackPath(raw)).toBe(path);
    expect(safeCallbackPath(raw, OWN)).toBe(path);
  });

  it("accepts an absolute URL only on the console's own origin, reduced to its path", () => {
    expect(safeCallbackPath("http://localhost:3000/proxies?a=1", OWN)).toBe("/proxies?a=1");
    expect(safeCallbackPath("http://localhost:3000/proxies")).toBe("/");
    expect(safeCallbackPath("https://localhost:3000/proxies", OWN)).toBe("/");
    expect(safeCallbackPath("http://localhost:3001/proxies", OWN)).toBe("/");
    expect(safeCallbackPath("http://localhost:3000//evil.example/", OWN)).toBe("/");
  });
});
