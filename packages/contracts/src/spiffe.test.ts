import { describe, expect, it } from "vitest";
import { parseSpiffeId, spiffeId } from "./spiffe.js";

describe("SPIFFE IDs", () => {
  it("builds the documented format", () => {
    expect(spiffeId("mesh.local", "shop", "cart")).toBe("spiffe://mesh.local/ns/shop/sa/cart");
  });

  it("parses back exactly what it builds", () => {
    for (const [td, ns, svc] of [
      ["mesh.local", "shop", "cart"],
      ["td-1.example.com", "default", "a"],
      ["x", "kube-system", "payments-v2"],
    ] as const) {
      expect(parseSpiffeId(spiffeId(td, ns, svc))).toEqual({ trustDomain: td, namespace: ns, service: svc });
    }
  });

  it("refuses malformed ids", () => {
    for (const id of [
      "",
      "spiffe://",
      "spiffe://mesh.local",
      "spiffe://mesh.local/ns/shop",
      "spiffe://mesh.local/ns/shop/sa/",
      "spiffe://mesh.local/ns//sa/cart",
      "spiffe:///ns/shop/sa/cart",
      "spiffe://mesh.local/ns/shop/sa/cart/extra",
      "spiffe://mesh.local/sa/cart/ns/shop",
      "https://mesh.local/ns/shop/sa/cart",
      "SPIFFE://mesh.local/ns/shop/sa/cart",
      " spiffe://mesh.local/ns/shop/sa/cart",
    ]) {
      expect(parseSpiffeId(id), JSON.stringify(id)).toBeNull();
    }
  });

  // The SPIFFE ID spec (standards/SPIFFE-ID.md, 2.1 and 2.2): a trust domain of lowercase letters, digits, `.`,
  // `-` and `_`; path segments of letters, digits, `.`, `-` and `_`, none empty, `.` or `..`; no percent-encoding,
  // port, user info, query or fragment. An ID with anything else is not a SPIFFE ID, and a caller named by one
  // must not be taken for the workload whose name it resembles.
  it("refuses what trails or hides inside an id: line breaks, white space, control characters", () => {
    for (const id of [
      "spiffe://td/ns/a/sa/b\n",
      "spiffe://td/ns/a/sa/b\r\n",
      "spiffe://td/ns/a/sa/b\r",
      "spiffe://td/ns/a/sa/b\u2028",
      "spiffe://td/ns/a/sa/b ",
      "spiffe://td/ns/a/sa/b\t",
      "spiffe://td/ns/a/sa/b\u0000",
      "spiffe://td/ns/a\n/sa/b",
      "spiffe://td\n/ns/a/sa/b",
      "spiffe://td/ns/a b/sa/b",
    ]) {
      expect(parseSpiffeId(id), JSON.stringify(id)).toBeNull();
    }
  });

  it("refuses percent-encoding, empty and dot segments, and characters outside the spec's sets", () => {
    for (const id of [
      // percent-encoding, in the path and in the trust domain
      "spiffe://td/ns/a/sa/b%2F",
      "spiffe://td/ns/a%2Fsa/sa/b",
      "spiffe://td/ns/%61/sa/b",
      "spiffe://t%64/ns/a/sa/b",
      // empty segments, and a trailing slash
      "spiffe://td//ns/a/sa/b",
      "spiffe://td/ns/a/sa/b/",
      "spiffe://td/ns/a//sa/b",
      // dot segments
      "spiffe://td/ns/./sa/b",
      "spiffe://td/ns/../sa/b",
      "spiffe://td/ns/a/sa/..",
      // the trust domain: lowercase only, no port or user info
      "spiffe://TD/ns/a/sa/b",
      "spiffe://Mesh.Local/ns/a/sa/b",
      "spiffe://td:8443/ns/a/sa/b",
      "spiffe://user@td/ns/a/sa/b",
      // characters a path segment may not hold
      "spiffe://td/ns/a/sa/b:c",
      "spiffe://td/ns/a/sa/b+c",
      "spiffe://td/ns/a/sa/b~c",
      "spiffe://td/ns/a/sa/bé",
      // query and fragment
      "spiffe://td/ns/a/sa/b?x=1",
      "spiffe://td/ns/a/sa/b?",
      "spiffe://td/ns/a/sa/b#frag",
      "spiffe://td/ns/a/sa/b#",
      // the scheme: lowercase, and exactly `spiffe://`
      "Spiffe://td/ns/a/sa/b",
      "spiffe:/td/ns/a/sa/b",
      "spiffe:td/ns/a/sa/b",
    ]) {
      expect(parseSpiffeId(id), JSON.stringify(id)).toBeNull();
    }
  });

  it("accepts every character the spec allows where it allows it", () => {
    expect(parseSpiffeId("spiffe://a-b_c.9/ns/A-b_c.9/sa/Z.y-x_0")).toEqual({
      trustDomain: "a-b_c.9",
      namespace: "A-b_c.9",
      service: "Z.y-x_0",
    });
    // `.` and `..` are refused as whole segments only.
    expect(parseSpiffeId("spiffe://td/ns/.a/sa/..b")).toEqual({
      trustDomain: "td",
      namespace: ".a",
      service: "..b",
    });
  });
});
