import { describe, expect, it } from "vitest";
import { spanTree } from "./traces.js";

const s = (spanId: string, parentSpanId: string | null, offsetMs: number) => ({
  spanId,
  parentSpanId,
  offsetMs,
});

describe("spanTree", () => {
  it("orders spans depth first, children by start, orphans and cycles at the top level", () => {
    const tree = spanTree([
      s("c", "a", 5),
      s("a", null, 0),
      s("b", "a", 1),
      s("d", "b", 2),
      s("o", "not-here", 3),
      s("x", "y", 9),
      s("y", "x", 8),
      s("self", "self", 10),
    ]);
    expect(tree.map((t) => `${"-".repeat(t.depth)}${t.span.spanId}`)).toEqual([
      "a",
      "-b",
      "--d",
      "-c",
      "o",
      "self",
      "x",
      "y",
    ]);
  });
});
