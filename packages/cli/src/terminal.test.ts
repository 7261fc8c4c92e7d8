import { describe, expect, it } from "vitest";
import { safe, t } from "./terminal.js";

describe("terminal output", () => {
  it("writes out every control character, C1 and bidi override, and leaves the rest as it is", () => {
    expect(safe("a\r\n\t\u0000\u001b[2K\u007f\u009b1m\u202eé€")).toBe(
      "a\\r\\n\\t\\x00\\x1b[2K\\x7f\\x9b1m\\u202eé€",
    );
  });

  it("escapes the values of a t`` line, never its own text", () => {
    expect(t`#${1} ${"x\ny"}\n`).toBe("#1 x\\ny\n");
    // Idempotent, so a line built from lines is escaped once.
    expect(t`${t`${"\u001b"}`}`).toBe("\\x1b");
  });
});
