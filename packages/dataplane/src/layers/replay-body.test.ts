// The copy a retry replays is bounded and freed: checked on the object itself, with a PassThrough standing in
// for the client's body (retry-replay.test.ts covers the same paths end to end on sockets).
import { PassThrough, type Readable } from "node:stream";
import { describe, expect, it } from "vitest";
import { ReplayBody } from "./replay-body.js";

const read = (s: Readable) =>
  new Promise<string>((resolve, reject) => {
    let out = "";
    s.on("data", (d: Buffer) => (out += d.toString()));
    s.on("end", () => resolve(out));
    s.on("error", reject);
  });
const tick = () => new Promise((r) => setImmediate(r));

describe("ReplayBody", () => {
  it("keeps at most the limit, and frees the copy when the body outgrows it", async () => {
    const src = new PassThrough();
    const body = new ReplayBody(src, 100);
    const first = read(body.nextTry());
    src.write("a".repeat(60));
    await tick();
    expect(body.bytesKept).toBe(60);
    expect(body.replayable()).toBe(true);
    src.write("b".repeat(60)); // 120 > 100
    await tick();
    expect(body.bytesKept).toBe(0);
    expect(body.replayable()).toBe(false);
    src.end("c");
    expect(await first).toBe(`${"a".repeat(60)}${"b".repeat(60)}c`); // the try itself still gets everything
  });

  it("replays what it kept, then the rest as it arrives, to a try that starts mid-body", async () => {
    const src = new PassThrough();
    const body = new ReplayBody(src, 1000);
    const first = body.nextTry();
    first.resume();
    src.write("early ");
    await tick();
    const second = read(body.nextTry()); // the first try failed before the client was done
    expect(first.destroyed).toBe(true);
    src.write("middle ");
    src.end("late");
    expect(await second).toBe("early middle late");
    body.release(false);
    expect(body.bytesKept).toBe(0);
  });

  it("passes the client's error to the try, and cannot replay after it", async () => {
    const src = new PassThrough();
    const body = new ReplayBody(src, 1000);
    const t = read(body.nextTry());
    src.write("part");
    await tick();
    src.destroy(new Error("client went away"));
    await expect(t).rejects.toThrow("client went away");
    expect(body.replayable()).toBe(false);
  });

  it("drains the client's body once released with no try reading it", async () => {
    const src = new PassThrough({ highWaterMark: 16 });
    const body = new ReplayBody(src, 8);
    body.nextTry().resume();
    src.write("0123456789abcdef"); // over the limit
    await tick();
    body.release(true); // the try failed: its stream is cut
    let written = 0;
    while (written < 1 << 20) {
      src.write(Buffer.alloc(4096));
      written += 4096;
      await tick();
    }
    src.end();
    await new Promise((r) => src.once("end", r)); // only reached if someone reads it
  });
});
