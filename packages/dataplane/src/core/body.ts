// A response body that streams from the upstream straight into the client's response, with backpressure, and
// is never buffered whole. Chunks that arrive before a sink is attached (a few microseconds) are queued.
import type { ServerResponse } from "node:http";
import type { Http2ServerResponse } from "node:http2";

export type BodySink = ServerResponse | Http2ServerResponse;

/** What the producer (the upstream client) gives the body so the consumer can steer it. */
export interface BodyControl {
  /** Resume reading from upstream after backpressure. */
  resume(): void;
  /** Stop the upstream exchange (client went away, or body discarded). */
  abort(err: Error): void;
  /**
   * Nobody will read the body: let it go as cheaply as the protocol allows (HTTP/1.1 reads it to the end so
   * the connection can be reused; an HTTP/2 stream is simply cancelled).
   */
  discard(): void;
}

/** An object rather than a closure, so the edge can pass its per-request state without allocating a function. */
export interface BodyListener {
  bodyDone(err: Error | null): void;
}

const NO_CONTROL: BodyControl = { resume() {}, abort() {}, discard() {} };

/** The body was cut because the client went away (for gRPC: the caller cancelled). */
export class ClientClosedError extends Error {
  constructor() {
    super("client closed the response");
  }
}

export class ResponseBody {
  private queue: Buffer[] | null = null;
  private sink: BodySink | null = null;
  private ended = false;
  private trailers: Record<string, string> | null = null;
  private error: Error | null = null;
  private dumped = false;
  private control: BodyControl;
  private onDrain: (() => void) | null = null;
  /** Told once when the body is done, with the error if it failed (telemetry, access log). */
  listener: BodyListener | null = null;

  constructor(control: BodyControl) {
    this.control = control;
  }

  /** A complete body known up front (local answers). */
  static of(data: string | Buffer | null): ResponseBody {
    const b = new ResponseBody(NO_CONTROL);
    if (data !== null && data.length > 0) b.queue = [typeof data === "string" ? Buffer.from(data) : data];
    b.ended = true;
    return b;
  }

  /** A trailer the upstream sent (lower-case name), once the body has ended; null when absent. */
  trailer(name: string): string | null {
    return this.trailers?.[name] ?? null;
  }

  // --- producer side -------------------------------------------------------------------------------------

  /** Returns false when the producer must pause until `control.resume()`. */
  push(chunk: Buffer): boolean {
    if (this.dumped) return true;
    const sink = this.sink;
    if (sink === null) {
      (this.queue ??= []).push(chunk);
      return true;
    }
    if ((sink as ServerResponse).write(chunk)) return true;
    if (this.onDrain === null) this.onDrain = () => this.control.resume();
    sink.once("drain", this.onDrain);
    return false;
  }

  end(trailers: Record<string, string> | null): void {
    this.ended = true;
    if (trailers !== null) this.trailers = trailers;
    if (this.sink !== null) this.finish();
    else if (this.dumped) this.done(null);
  }

  fail(err: Error): void {
    if (this.ended) return;
    this.ended = true;
    this.error = err;
    // Headers are already sent: all we can do is cut the client's response so it sees an incomplete body.
    if (this.sink !== null) this.sink.destroy(err);
    this.done(err);
  }

  // --- consumer side -------------------------------------------------------------------------------------

  /** Streams the body into the client's response. The caller has already written the head. */
  pipeTo(sink: BodySink): void {
    this.sink = sink;
    const q = this.queue;
    if (q !== null) {
      this.queue = null;
      for (let i = 0; i < q.length; i++) (sink as ServerResponse).write(q[i]!);
    }
    if (this.error !== null) {
      sink.destroy(this.error);
      return;
    }
    if (this.ended) {
      this.finish();
      return;
    }
    // The client went away mid-body: stop reading from upstream.
    sink.once("close", () => {
      if (!this.ended) {
        this.ended = true;
        const err = new ClientClosedError();
        this.control.abort(err);
        this.done(err);
      }
    });
  }

  /** Discards the body (a failed try that will be retried). The upstream connection stays usable when possible. */
  dump(): void {
    this.dumped = true;
    this.queue = null;
    if (this.ended) this.done(this.error);
    else this.control.discard();
  }

  private finish(): void {
    const sink = this.sink!;
    if (this.trailers !== null && Object.keys(this.trailers).length > 0) sink.addTrailers(this.trailers);
    sink.end();
    this.done(null);
  }

  private done(err: Error | null): void {
    const l = this.listener;
    if (l !== null) {
      this.listener = null;
      l.bodyDone(err);
    }
  }
}
