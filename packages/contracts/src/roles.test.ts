import { describe, expect, it } from "vitest";
import { hasRole } from "./roles.js";

describe("hasRole", () => {
  it("grants lower roles through higher ones, in the bound namespace only", () => {
    const b = [{ role: "approver" as const, namespace: "shop" }];
    expect(hasRole(b, "viewer", "shop")).toBe(true);
    expect(hasRole(b, "approver", "shop")).toBe(true);
    expect(hasRole(b, "admin", "shop")).toBe(false);
    expect(hasRole(b, "viewer", "billing")).toBe(false);
    expect(hasRole(b, "viewer", "*")).toBe(false);
  });
  it("treats * as every namespace", () => {
    const b = [{ role: "admin" as const, namespace: "*" }];
    expect(hasRole(b, "admin", "anything")).toBe(true);
    expect(hasRole(b, "admin", "*")).toBe(true);
  });
});
