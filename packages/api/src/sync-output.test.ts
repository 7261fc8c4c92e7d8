import { initTRPC, TRPCError } from "@trpc/server";
import { describe, expect, it } from "vitest";
import { z } from "zod";
import { ZGraph, type Graph } from "@trellis/contracts";
import { syncOutput } from "./trpc.js";

const t = initTRPC.create();
const graph: Graph = {
  from: "2026-12-07T10:00:00.000Z",
  end: "2026-12-07T11:00:00.000Z",
  nodes: [{ id: "a/web", namespace: "a", service: "web", rps: 1, errorRate: 0, registered: true }],
  edges: [],
};
/** A procedure answering `answer`, its output checked as graph.get's is. */
const answering = (answer: unknown) =>
  t.createCallerFactory(
    t.router({ get: t.procedure.output(syncOutput(ZGraph)).query(() => answer as Graph) }),
  )({});

describe("syncOutput", () => {
  it("passes a valid answer as the schema parses it (unknown keys dropped)", async () => {
    await expect(answering({ ...graph, extra: 1 }).get()).resolves.toEqual(graph);
  });

  it("refuses an invalid answer as tRPC's own check does: an internal error caused by the schema's", async () => {
    const err = await answering({ ...graph, edges: [{ source: "a/web" }] })
      .get()
      .catch((e: unknown) => e);
    expect(err).toBeInstanceOf(TRPCError);
    expect((err as TRPCError).code).toBe("INTERNAL_SERVER_ERROR");
    expect((err as TRPCError).cause).toBeInstanceOf(z.ZodError);
  });

  it("documents as the schema it copies", () => {
    expect(z.toJSONSchema(syncOutput(ZGraph))).toEqual(z.toJSONSchema(ZGraph));
  });
});
