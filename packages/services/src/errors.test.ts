// parseInput: the one way a service validates what a caller sent. Entry points parse before they touch the
// database, so a refusal needs none.
import { describe, expect, it } from "vitest";
import { z } from "zod";
import type { Db } from "@trellis/db";
import { SYSTEM_ACTOR } from "./actor.js";
import { AppError, parseInput } from "./errors.js";
import { listServices } from "./registry.js";
import { serviceGraph } from "./graph.js";
import { createJoinToken } from "./join-tokens.js";

const noDb = {} as Db;

async function refusal(p: Promise<unknown>): Promise<AppError> {
  const e: unknown = await p.then(
    () => null,
    (err: unknown) => err,
  );
  expect(e).toBeInstanceOf(AppError);
  return e as AppError;
}

describe("parseInput", () => {
  const schema = z.object({ spec: z.object({ rules: z.array(z.object({ weight: z.number().min(0) })) }) });

  it("returns the parsed input", () => {
    expect(parseInput(schema, { spec: { rules: [{ weight: 1 }] } })).toEqual({
      spec: { rules: [{ weight: 1 }] },
    });
  });

  it("throws VALIDATION_FAILED with each issue's path, never a ZodError", () => {
    let e: unknown;
    try {
      parseInput(schema, { spec: { rules: [{ weight: 1 }, { weight: -1 }] } });
    } catch (err) {
      e = err;
    }
    expect(e).toBeInstanceOf(AppError);
    expect((e as AppError).code).toBe("VALIDATION_FAILED");
    expect((e as AppError).issues).toEqual([
      {
        path: "spec.rules[1].weight",
        at: { path: ["spec", "rules", 1, "weight"] },
        message: expect.any(String),
      },
    ]);
  });
});

describe("service entry points parse their input first", () => {
  it("listServices", async () => {
    const e = await refusal(listServices(noDb, SYSTEM_ACTOR, { namespace: "Not A Namespace" }));
    expect(e.code).toBe("VALIDATION_FAILED");
    expect(e.issues?.map((i) => i.path)).toEqual(["namespace"]);
  });

  it("serviceGraph, which threw a ZodError before", async () => {
    const e = await refusal(serviceGraph(noDb, SYSTEM_ACTOR, { window: 5 } as never));
    expect(e.code).toBe("VALIDATION_FAILED");
    expect(e.issues?.[0]?.path).toBe("window");
  });

  it("createJoinToken, with the field's path", async () => {
    const e = await refusal(createJoinToken(noDb, SYSTEM_ACTOR, { namespace: "ok", service: "Bad Name" }));
    expect(e.code).toBe("VALIDATION_FAILED");
    expect(e.issues?.map((i) => i.path)).toEqual(["service"]);
  });
});
