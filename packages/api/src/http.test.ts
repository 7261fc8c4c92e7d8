import { describe, expect, it } from "vitest";
import { trustedClientAddress } from "./http.js";

describe("trustedClientAddress", () => {
  it("trusts no X-Forwarded-For without a trusted proxy: any client can write one", () => {
    expect(trustedClientAddress("203.0.113.7", 0)).toBeUndefined();
    expect(trustedClientAddress(null, 1)).toBeUndefined();
  });

  it("takes the entry the outermost trusted proxy appended, never what the client wrote before it", () => {
    // The client sent "X-Forwarded-For: 1.2.3.4"; the one proxy in front appended the address it saw.
    expect(trustedClientAddress("1.2.3.4, 203.0.113.7", 1)).toBe("203.0.113.7");
    expect(trustedClientAddress("203.0.113.7", 1)).toBe("203.0.113.7");
    // Two proxies: the outer one wrote the client's address, the inner one the outer proxy's.
    expect(trustedClientAddress("1.2.3.4, 203.0.113.7 ,10.0.0.2", 2)).toBe("203.0.113.7");
    // Fewer entries than proxies: the request did not come through all of them.
    expect(trustedClientAddress("203.0.113.7", 2)).toBeUndefined();
  });
});
