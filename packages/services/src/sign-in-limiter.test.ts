import { describe, expect, it } from "vitest";
import { SignInLimiter } from "./sign-in-limiter.js";

describe("SignInLimiter", () => {
  it("refuses after too many failures and forgets them when the window passes", () => {
    let now = 0;
    const l = new SignInLimiter(3, 1000, () => now);
    for (let i = 0; i < 3; i++) {
      expect(l.allow("alice|1.2.3.4")).toBe(true);
      l.failed("alice|1.2.3.4");
    }
    expect(l.allow("alice|1.2.3.4")).toBe(false);
    expect(l.allow("bob|1.2.3.4")).toBe(true);
    now = 1001;
    expect(l.allow("alice|1.2.3.4")).toBe(true);
  });
  it("resets a key on success", () => {
    const l = new SignInLimiter(1, 1000, () => 0);
    l.failed("k");
    expect(l.allow("k")).toBe(false);
    l.succeeded("k");
    expect(l.allow("k")).toBe(true);
  });
});
