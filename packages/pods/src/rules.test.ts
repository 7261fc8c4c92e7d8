import { describe, expect, it } from "vitest";
import { NO_FAULTS, renderRules } from "./rules.js";

const EGRESS = ["10.213.0.0/24", "240.0.0.0/4"];

describe("renderRules", () => {
  it("installs the chains, the jumps and the egress guard", () => {
    expect(renderRules(NO_FAULTS, EGRESS, { install: true })).toBe(
      [
        "*filter",
        ":TRELLIS_BED_IN - [0:0]",
        ":TRELLIS_BED_OUT - [0:0]",
        ":TRELLIS_BED_EGRESS - [0:0]",
        "-A TRELLIS_BED_IN -i lo -j RETURN",
        "-A TRELLIS_BED_OUT -o lo -j RETURN",
        "-A TRELLIS_BED_OUT -d 127.0.0.0/8 -j RETURN",
        "-A TRELLIS_BED_OUT -j TRELLIS_BED_EGRESS",
        "-A TRELLIS_BED_EGRESS -d 10.213.0.0/24 -j RETURN",
        "-A TRELLIS_BED_EGRESS -d 240.0.0.0/4 -j RETURN",
        "-A TRELLIS_BED_EGRESS -j REJECT --reject-with icmp-net-unreachable",
        "-I INPUT 1 -j TRELLIS_BED_IN",
        "-I OUTPUT 1 -j TRELLIS_BED_OUT",
        "COMMIT",
        "",
      ].join("\n"),
    );
  });

  it("rewrites every chain from the faults, blocked addresses both ways, isolation last", () => {
    const text = renderRules(
      {
        blocked: new Map([
          ["10.213.0.9", "reject"],
          ["10.213.0.3", "drop"],
        ]),
        isolatedExcept: ["10.213.0.1"],
      },
      EGRESS,
      { install: false },
    );
    expect(text).toBe(
      [
        "*filter",
        ":TRELLIS_BED_IN - [0:0]",
        ":TRELLIS_BED_OUT - [0:0]",
        ":TRELLIS_BED_EGRESS - [0:0]",
        "-A TRELLIS_BED_IN -i lo -j RETURN",
        "-A TRELLIS_BED_OUT -o lo -j RETURN",
        "-A TRELLIS_BED_OUT -d 127.0.0.0/8 -j RETURN",
        "-A TRELLIS_BED_OUT -j TRELLIS_BED_EGRESS",
        "-A TRELLIS_BED_IN -s 10.213.0.3/32 -j DROP",
        "-A TRELLIS_BED_OUT -d 10.213.0.3/32 -j DROP",
        "-A TRELLIS_BED_IN -s 10.213.0.9/32 -j REJECT",
        "-A TRELLIS_BED_OUT -d 10.213.0.9/32 -j REJECT --reject-with icmp-port-unreachable",
        "-A TRELLIS_BED_IN -s 10.213.0.1/32 -j RETURN",
        "-A TRELLIS_BED_OUT -d 10.213.0.1/32 -j RETURN",
        "-A TRELLIS_BED_IN -j DROP",
        "-A TRELLIS_BED_OUT -j DROP",
        "-A TRELLIS_BED_EGRESS -d 10.213.0.0/24 -j RETURN",
        "-A TRELLIS_BED_EGRESS -d 240.0.0.0/4 -j RETURN",
        "-A TRELLIS_BED_EGRESS -j REJECT --reject-with icmp-net-unreachable",
        "COMMIT",
        "",
      ].join("\n"),
    );
  });
});
