import { describe, expect, it } from "vitest";
import { formatCount } from "./impact.js";

describe("formatCount", () => {
  it("groups large numbers and keeps one decimal below 10", () => {
    expect(formatCount(1240)).toBe("1,240");
    expect(formatCount(10)).toBe("10");
    expect(formatCount(9.96)).toBe("10");
    expect(formatCount(3.25)).toBe("3.3");
    expect(formatCount(0)).toBe("0");
  });

  it("never shows light traffic as none", () => {
    // 50 calls in the last hour, as an impact preview of a quiet service sees them.
    expect(formatCount(50 / 3600)).toBe("0.014");
    expect(formatCount(1 / 3600)).toBe("0.00028");
    expect(formatCount(0.1)).toBe("0.1");
    expect(formatCount(0.099)).toBe("0.099");
  });
});
