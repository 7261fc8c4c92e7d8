import { describe, expect, it } from "vitest";
import { fieldIssue, type DocumentPath } from "@trellis/contracts";
import { displayPath, fieldId, issuesAt, placeIssues } from "./editor-issues";

// Issues as the server sends them: built by contracts, so `at` and the `path` text agree as they do on the wire.
const OPERATION_RESOURCE: DocumentPath = (i) => ["operations", i, "resource"];
const OPERATION: DocumentPath = (i) => ["operations", i];

describe("placeIssues", () => {
  it("takes the document from `at`, for YAML documents and the change as a whole", () => {
    expect(
      placeIssues(
        [
          fieldIssue({ doc: 0, path: ["spec", "rules", 0, "backends"] }, "weights must sum to 100 (got 95)"),
          fieldIssue({ doc: 2, path: [] }, "YAML: line 3"),
          fieldIssue({ path: ["yaml"] }, "has no resource documents"),
        ],
        "error",
      ),
    ).toEqual([
      {
        severity: "error",
        doc: 0,
        path: ["spec", "rules", 0, "backends"],
        message: "weights must sum to 100 (got 95)",
      },
      { severity: "error", doc: 2, path: [], message: "YAML: line 3" },
      { severity: "error", doc: null, path: ["yaml"], message: "has no resource documents" },
    ]);
  });

  it("places an update's issues in its operation, whatever the text calls it", () => {
    const issues = [
      fieldIssue({ doc: 0, path: ["spec", "service"] }, "no service", OPERATION_RESOURCE),
      fieldIssue({ doc: 0, path: [] }, "stale", OPERATION),
    ];
    expect(issues.map((i) => i.path)).toEqual(["operations[0].resource.spec.service", "operations[0]"]);
    expect(placeIssues(issues, "warning")).toEqual([
      { severity: "warning", doc: 0, path: ["spec", "service"], message: "no service" },
      { severity: "warning", doc: 0, path: [], message: "stale" },
    ]);
  });

  it("keeps record keys whole, even ones the text cannot tell from nesting", () => {
    const [dotted] = placeIssues(
      [fieldIssue({ doc: 0, path: ["spec", "rules", 0, "requestHeaders", "set", "x.y"] }, "bad value")],
      "error",
    );
    expect(dotted!.path).toEqual(["spec", "rules", 0, "requestHeaders", "set", "x.y"]);
    expect(issuesAt([dotted!], 0, ["spec", "rules", 0, "requestHeaders", "set", "x.y"])).toHaveLength(1);
    expect(issuesAt([dotted!], 0, ["spec", "rules", 0, "requestHeaders", "set", "x"], true)).toEqual([]);
  });
});

describe("where issues are shown", () => {
  const issues = placeIssues(
    [
      fieldIssue({ doc: 0, path: ["spec", "rules", 0, "backends"] }, "weights must sum to 100 (got 95)"),
      fieldIssue({ doc: 0, path: ["spec", "rules", 0, "backends", 1, "weight"] }, "must be a whole number"),
      fieldIssue(
        { doc: 0, path: ["spec", "rules", 0, "match", "methods", 1] },
        "must be an upper-case HTTP method",
      ),
      fieldIssue({ doc: 1, path: ["spec", "rules", 0, "backends"] }, "elsewhere"),
    ],
    "error",
  );

  it("beside the control for exactly that path", () => {
    expect(issuesAt(issues, 0, ["spec", "rules", 0, "backends"]).map((i) => i.message)).toEqual([
      "weights must sum to 100 (got 95)",
    ]);
    expect(issuesAt(issues, 0, ["spec", "rules", 0, "match", "methods"])).toEqual([]);
    expect(issuesAt(issues, 0, ["spec", "rules", 0, "match", "methods"], true)).toHaveLength(1);
    expect(issuesAt(issues, 0, ["spec", "rules", 0, "backends"], true)).toHaveLength(2);
    // An index is not a key: rule 0 is not rule "0", nor rule 1's prefix.
    expect(issuesAt(issues, 0, ["spec", "rules", "0", "backends"])).toEqual([]);
    expect(issuesAt(issues, 1, ["spec", "rules", 0, "backends"]).map((i) => i.message)).toEqual([
      "elsewhere",
    ]);
  });

  it("with the path a user writes, and the document index only when there are several", () => {
    expect(displayPath(issues[1]!, 1)).toBe("spec.rules[0].backends[1].weight");
    expect(displayPath(issues[1]!, 2)).toBe("[0].spec.rules[0].backends[1].weight");
    expect(displayPath({ severity: "error", doc: 0, path: [], message: "" }, 1)).toBe("(document)");
    expect(displayPath({ severity: "error", doc: 2, path: [], message: "" }, 3)).toBe("[2]");
    expect(displayPath({ severity: "error", doc: null, path: ["yaml"], message: "" }, 3)).toBe("yaml");
    expect(displayPath({ severity: "error", doc: null, path: [], message: "" }, 1)).toBe("(change)");
  });

  it("linked to the control by an id that is valid in a URL fragment", () => {
    expect(fieldId(0, ["spec", "rules", 0, "backends", 1, "weight"])).toBe(
      "field-0-spec-rules-0-backends-1-weight",
    );
    expect(fieldId(1, ["spec", "rules", 0, "requestHeaders", "set", "bad name"])).toBe(
      "field-1-spec-rules-0-requestHeaders-set-bad_name",
    );
  });
});
