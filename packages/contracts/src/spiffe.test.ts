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
});
