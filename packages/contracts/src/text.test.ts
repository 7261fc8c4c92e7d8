import { describe, expect, it } from "vitest";
import { ZChangeRollbackInput } from "./changes.js";
import { zSingleLine, zText } from "./text.js";

describe("text people type", () => {
  const line = zSingleLine({ min: 1, max: 20 });
  const text = zText({ max: 50 });

  it("refuses every control character in a single line, and trims it", () => {
    for (const s of ["a\u0000", "a\tb", "a\nb", "a\rb", "\u001b[2K", "a\u007f", "a\u009b"])
      expect(line.safeParse(s).success, JSON.stringify(s)).toBe(false);
    expect(line.parse("  Canary 10% → v2  ")).toBe("Canary 10% → v2");
    expect(line.safeParse("   ").success).toBe(false);
  });

  it("keeps tabs and line feeds in multi-line text, and nothing else", () => {
    expect(text.parse("why:\n\t- because")).toBe("why:\n\t- because");
    for (const s of ["a\u0000", "a\r\nb", "\u001b]0;x\u0007"]) expect(text.safeParse(s).success).toBe(false);
  });

  it("refuses unpaired surrogates, keeps paired ones", () => {
    expect(line.safeParse("a\ud800").success).toBe(false);
    expect(line.parse("ok 👍")).toBe("ok 👍");
  });

  it("says where the character is", () => {
    const r = line.safeParse("ab\u0000");
    expect(!r.success && r.error.issues[0]!.message).toBe(
      "must not contain control characters (U+0000 at index 2)",
    );
  });

  it("trims a fast-track reason before counting it", () => {
    expect(ZChangeRollbackInput.safeParse({ id: "1", fastTrackReason: "  a  " }).success).toBe(false);
    expect(ZChangeRollbackInput.parse({ id: "1", fastTrackReason: " pager " }).fastTrackReason).toBe("pager");
  });
});
