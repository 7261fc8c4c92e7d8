import { describe, expect, it } from "vitest";
import { displayPath, fieldId, issuesAt, parsePath, placeIssues } from "./editor-issues";

describe("placeIssues", () => {
  it("takes the document index off YAML paths", () => {
    expect(
      placeIssues(
        [
          { path: "[0].spec.rules[0].backends", message: "weights must sum to 100 (got 95)" },
          { path: "[2]", message: "YAML: line 3" },
          { path: "yaml", message: "has no resource documents" },
        ],
        "error",
      ),
    ).toEqual([
      {
        severity: "error",
        doc: 0,
        path: "spec.rules[0].backends",
        message: "weights must sum to 100 (got 95)",
      },
      { severity: "error", doc: 2, path: "", message: "YAML: line 3" },
      { severity: "error", doc: null, path: "yaml", message: "has no resource documents" },
    ]);
  });

  it("takes the operation off the paths of an update", () => {
    expect(
      placeIssues(
        [
          { path: "operations[0].resource.spec.service", message: "no service" },
          { path: "operations[0]", message: "stale" },
        ],
        "warning",
      ),
    ).toEqual([
      { severity: "warning", doc: 0, path: "spec.service", message: "no service" },
      { severity: "warning", doc: 0, path: "", message: "stale" },
    ]);
  });
});

describe("where issues are shown", () => {
  const issues = placeIssues(
    [
      { path: "[0].spec.rules[0].backends", message: "weights must sum to 100 (got 95)" },
      { path: "[0].spec.rules[0].backends[1].weight", message: "must be a whole number" },
      { path: "[0].spec.rules[0].match.methods[1]", message: "must be an upper-case HTTP method" },
      { path: "[1].spec.rules[0].backends", message: "elsewhere" },
    ],
    "error",
  );

  it("beside the control for exactly that path", () => {
    expect(issuesAt(issues, 0, ["spec", "rules", 0, "backends"]).map((i) => i.message)).toEqual([
      "weights must sum to 100 (got 95)",
    ]);
    expect(issuesAt(issues, 0, ["spec", "rules", 0, "match", "methods"])).toEqual([]);
    expect(issuesAt(issues, 0, ["spec", "rules", 0, "match", "methods"], true)).toHaveLength(1);
  });

  it("with the path a user writes, and the document index only when there are several", () => {
    expect(displayPath(issues[1]!, 1)).toBe("spec.rules[0].backends[1].weight");
    expect(displayPath(issues[1]!, 2)).toBe("[0].spec.rules[0].backends[1].weight");
    expect(displayPath({ severity: "error", doc: 0, path: "", message: "" }, 1)).toBe("(document)");
  });

  it("linked to the control by an id that is valid in a URL fragment", () => {
    expect(fieldId(0, ["spec", "rules", 0, "backends", 1, "weight"])).toBe(
      "field-0-spec-rules-0-backends-1-weight",
    );
    expect(parsePath("spec.rules[0].backends[1].weight")).toEqual([
      "spec",
      "rules",
      0,
      "backends",
      1,
      "weight",
    ]);
    expect(parsePath("")).toEqual([]);
  });
});
