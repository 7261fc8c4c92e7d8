import { describe, expect, it } from "vitest";
import { fieldIssue } from "@trellis/contracts";
import { apiError } from "./api-error";

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
