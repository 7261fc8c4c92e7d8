import { describe, expect, it } from "vitest";
import { z } from "zod";
import {
  fieldIssue,
  formatIssuePath,
  formatIssues,
  formatPath,
  fromZodIssue,
  inDocument,
  zodIssues,
  ZFieldIssue,
  type DocumentPath,
} from "./errors.js";

const OPERATION_RESOURCE: DocumentPath = (doc) => ["operations", doc, "resource"];

describe("formatPath", () => {
  it("renders paths as users write them", () => {
    expect(formatPath(["spec", "rules", 0, "backends", 1, "weight"])).toBe(
      "spec.rules[0].backends[1].weight",
    );
    expect(formatPath([])).toBe("");
  });

  it("renders nested arrays as consecutive indexes, and a leading index without a dot", () => {
    expect(formatPath(["matrix", 0, 1, "x"])).toBe("matrix[0][1].x");
    expect(formatPath([2, "spec"])).toBe("[2].spec");
  });
});

describe("formatIssuePath", () => {
  it("names the document the way the reader found it: YAML by default, or as the caller says", () => {
    const at = { doc: 2, path: ["spec", "rules", 0] };
    expect(formatIssuePath(at)).toBe("[2].spec.rules[0]");
    expect(formatIssuePath(at, OPERATION_RESOURCE)).toBe("operations[2].resource.spec.rules[0]");
    expect(formatIssuePath({ doc: 2, path: [] })).toBe("[2]");
    expect(formatIssuePath({ path: ["title"] }, OPERATION_RESOURCE)).toBe("title");
  });
});

describe("building issues", () => {
  it("from a zod error: nested arrays keep their indexes as numbers", () => {
    const r = z.object({ m: z.array(z.array(z.number())) }).safeParse({ m: [[1], [2, "x"]] });
    expect(r.success).toBe(false);
    expect(zodIssues(r.error!)).toEqual([
      { path: "m[1][1]", at: { path: ["m", 1, 1] }, message: expect.any(String) },
    ]);
  });

  it("from a zod error: record keys stay strings, even those that look like indexes or hold dots", () => {
    const r = z
      .object({ headers: z.record(z.string(), z.string().max(1)) })
      .safeParse({ headers: { "0": "ab", "x.y": "cd", "bad name": "ef" } });
    const issues = zodIssues(r.error!);
    expect(issues.map((i) => i.at)).toEqual([
      { path: ["headers", "0"] },
      { path: ["headers", "x.y"] },
      { path: ["headers", "bad name"] },
    ]);
    // The text cannot tell these apart from nesting (`headers.x.y`): that is why `at` is what programs read.
    expect(issues.map((i) => i.path)).toEqual(["headers.0", "headers.x.y", "headers.bad name"]);
  });

  it("from a Standard Schema issue, whose segments may be { key } objects, and with symbol keys", () => {
    expect(fromZodIssue({ path: [{ key: "services" }, { key: 0 }, "name"], message: "m" })).toEqual({
      path: "services[0].name",
      at: { path: ["services", 0, "name"] },
      message: "m",
    });
    expect(fromZodIssue({ path: [Symbol("s")], message: "m" }).at).toEqual({ path: ["s"] });
    expect(fromZodIssue({ message: "whole" })).toEqual({ path: "", at: { path: [] }, message: "whole" });
  });

  it("places a resource's issue in a document of a multi-document change", () => {
    const inResource = fieldIssue({ path: ["spec", "rules", 0, "backends"] }, "weights must sum to 100");
    expect(inDocument(inResource, 1)).toEqual({
      path: "[1].spec.rules[0].backends",
      at: { doc: 1, path: ["spec", "rules", 0, "backends"] },
      message: "weights must sum to 100",
    });
    expect(inDocument(inResource, 0, OPERATION_RESOURCE)).toEqual({
      path: "operations[0].resource.spec.rules[0].backends",
      at: { doc: 0, path: ["spec", "rules", 0, "backends"] },
      message: "weights must sum to 100",
    });
    expect(inDocument(fieldIssue({ path: [] }, "not an object"), 3).path).toBe("[3]");
  });

  it("makes issues that parse with ZFieldIssue, through JSON", () => {
    const issue = fieldIssue({ doc: 0, path: ["spec", "rules", 0] }, "m");
    expect(ZFieldIssue.parse(JSON.parse(JSON.stringify(issue)))).toEqual(issue);
    expect(ZFieldIssue.safeParse({ path: "a", message: "m" }).success).toBe(false);
  });
});

describe("formatIssues", () => {
  it("puts issues on one line, a whole-input issue without a path", () => {
    expect(
      formatIssues([fieldIssue({ path: ["services", 0, "name"] }, "bad"), fieldIssue({ path: [] }, "whole")]),
    ).toBe("services[0].name: bad; whole");
  });
});
