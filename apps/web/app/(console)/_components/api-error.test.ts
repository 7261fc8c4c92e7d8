import { describe, expect, it } from "vitest";
import { ZProblem, fieldIssue } from "@trellis/contracts";
import { apiError, isProblem } from "./api-error";

describe("apiError", () => {
  const issue = fieldIssue({ doc: 1, path: ["spec", "service"] }, "is required");

  it("reads a tRPC error as errorFormatter shapes it", () => {
    const e = Object.assign(new Error("[1].spec.service: is required"), {
      data: { appCode: "CHANGE_INVALID", issues: [issue] },
    });
    expect(apiError(e)).toEqual({
      message: "[1].spec.service: is required",
      code: "CHANGE_INVALID",
      issues: [issue],
    });
  });

  it("reads a problem document the edge answered before tRPC ran, not tRPC's complaint about it", () => {
    const e = Object.assign(new Error("Unable to transform response from server"), {
      meta: {
        response: { status: 413 },
        responseJSON: {
          type: "about:blank",
          title: "Payload Too Large",
          status: 413,
          code: "PAYLOAD_TOO_LARGE",
          detail: "the body is over 1048576 bytes",
        },
      },
    });
    expect(apiError(e)).toEqual({
      message: "the body is over 1048576 bytes",
      code: "PAYLOAD_TOO_LARGE",
      issues: [],
    });
  });

  it("says so when the answer is not JSON or not ours, instead of a parser's message", () => {
    const notJson = Object.assign(new Error("Unexpected token '<', \"<html>\" is not valid JSON"), {
      cause: new SyntaxError("Unexpected token '<'"),
    });
    expect(apiError(notJson).message).toBe("the server's answer could not be read (it is not JSON)");
    const notOurs = Object.assign(new Error("Unable to transform response from server"), {
      meta: { response: { status: 502 }, responseJSON: { error: "bad gateway" } },
    });
    expect(apiError(notOurs)).toEqual({ message: "the server answered HTTP 502", code: null, issues: [] });
  });

  it("keeps the message of a call that got no answer", () => {
    expect(apiError(new TypeError("Failed to fetch"))).toEqual({
      message: "Failed to fetch",
      code: null,
      issues: [],
    });
  });
});

describe("isProblem", () => {
  const problem = {
    type: "about:blank",
    title: "Unprocessable Content",
    status: 422,
    code: "VALIDATION_FAILED",
    detail: "the request is not valid",
    issues: [fieldIssue({ path: ["name"] }, "is required")],
  };
  const cases: [string, unknown][] = [
    ["a whole problem", problem],
    [
      "one without detail or issues",
      { type: "about:blank", title: "Forbidden", status: 403, code: "FORBIDDEN" },
    ],
    ["null", null],
    ["an array", [problem]],
    ["a string", "about:blank"],
    ["one without a title", { ...problem, title: undefined }],
    ["one without a type", { ...problem, type: undefined }],
    ["a status that is text", { ...problem, status: "422" }],
    ["a status that is not whole", { ...problem, status: 422.5 }],
    ["a code that is a number", { ...problem, code: 422 }],
    ["a detail that is not text", { ...problem, detail: { text: "x" } }],
    ["issues that are not a list", { ...problem, issues: "name is required" }],
    ["an issue without a message", { ...problem, issues: [{ path: "name", at: { path: ["name"] } }] }],
    ["an issue without `at`", { ...problem, issues: [{ path: "name", message: "is required" }] }],
  ];
  it.each(cases)("answers as contracts' ZProblem does: %s", (_, doc) => {
    expect(isProblem(doc)).toBe(ZProblem.safeParse(doc).success);
  });

  it("takes a code this console does not know yet, which ZProblem refuses", () => {
    const newer = { ...problem, code: "SOMETHING_NEW" };
    expect(ZProblem.safeParse(newer).success).toBe(false);
    expect(isProblem(newer)).toBe(true);
    expect(apiError({ meta: { responseJSON: newer } }).code).toBe("SOMETHING_NEW");
  });
});
