import { describe, expect, it } from "vitest";
import { parseSuggestionWindow, ZPolicySuggestInput, ZSuggestionWindow } from "./policy-suggestion.js";

describe("the suggestion's window", () => {
  it("takes minutes, hours or days from 5m to 30d", () => {
    expect(parseSuggestionWindow("5m")).toBe(300_000);
    expect(parseSuggestionWindow("24h")).toBe(86_400_000);
    expect(parseSuggestionWindow("30d")).toBe(30 * 86_400_000);
    for (const ok of ["5m", "90m", "1h", "24h", "7d", "30d", "720h"])
      expect(ZSuggestionWindow.parse(ok)).toBe(ok);
  });

  it("says what is wrong, once", () => {
    const issues = (w: string) => ZSuggestionWindow.safeParse(w).error?.issues.map((i) => i.message);
    expect(issues("4m")).toEqual(["must be at least 5m"]);
    expect(issues("31d")).toEqual(["must be at most 30d"]);
    expect(issues("721h")).toEqual(["must be at most 30d"]);
    for (const bad of ["1w", "24", "h", "-5m", "1.5h", ""])
      expect(issues(bad), bad).toEqual(["must be minutes, hours or days: 30m, 24h, 7d"]);
  });

  it("defaults to a day", () => {
    expect(ZPolicySuggestInput.parse({ namespace: "shop", service: "ratings" }).window).toBe("24h");
  });
});
