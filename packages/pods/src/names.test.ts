import { describe, expect, it } from "vitest";
import {
  bedNetns,
  bridgeName,
  gatewayLink,
  gatewayPeer,
  isBedId,
  newBedId,
  podLink,
  validatePodName,
} from "./names.js";

describe("names", () => {
  it("fit Linux's 15-character interface names, even the longest", () => {
    const id = newBedId();
    expect(isBedId(id)).toBe(true);
    for (const name of [
      bridgeName(id),
      gatewayLink(id),
      gatewayPeer(id),
      podLink(id, 1),
      podLink(id, 99_999),
    ]) {
      expect(name.length, name).toBeLessThanOrEqual(15);
      expect(name.startsWith(bedNetns(id)), name).toBe(true);
    }
    expect(() => podLink(id, 100_000)).toThrow(/create a new bed/);
  });

  it("take pod names that work as namespace names and DNS labels", () => {
    for (const ok of ["trellis-demo-reviews-v2", "a", "pod.1", "x".repeat(63)])
      expect(() => validatePodName(ok)).not.toThrow();
    for (const bad of ["", "-a", "a-", "A", "a_b", "a/b", "..", "x".repeat(64), "tpb123456"]) {
      expect(() => validatePodName(bad), bad).toThrow(/pod name/);
    }
  });
});
