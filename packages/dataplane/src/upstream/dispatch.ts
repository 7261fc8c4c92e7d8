// Sends one request to one upstream over an undici pool, using the low-level dispatch API: no per-request
// Readable for the response, the body is handed chunk by chunk to the client's response with backpressure.
import type { Dispatcher } from "undici";
import type { Socket } from "node:net";
import { ResponseBody, type BodyControl } from "../core/body.js";
import { forwardResponseHeaders } from "../core/headers.js";
import { upstreamError } from "../core/errors.js";
import { ProxyError } from "../core/errors.js";
import type { ProxyRequest, ProxyResponse } from "../core/types.js";

/** undici's own headers timeout ticks with ~1 s resolution; below this we run a precise timer ourselves. */
const PRECISE_TIMEOUT_BELOW_MS = 2000;

class UpstreamExchange implements BodyControl {
  private abortFn: ((err: Error) => void) | null = null;
  private resumeFn: (() => void) | null = null;
  private body: ResponseBody | null = null;
  /** The request failed before its head arrived (our timer fired); whatever undici says later is ignored. */
  private failed: Error | null = null;
  timer: NodeJS.Timeout | null = null;
  constructor(
    private readonly address: string,
    private readonly resolve: (r: ProxyResponse) => void,
    private readonly reject: (e: Error) => void,
  ) {}

  // BodyControl, used by the consumer of the body.
  resume(): void {
    this.resumeFn?.();
  }
  abort(err: Error): void {
    this.abortFn?.(err);
  }
  discard(): void {
    // Read it to the end (pushes are dropped) so the keep-alive connection is reused.
    this.resumeFn?.();
  }

  // undici's dispatch handler protocol.
  onConnect(abort: (err?: Error) => void): void {
    this.abortFn = abort;
    if (this.failed !== null) abort(this.failed);
  }
  /** Our precise timer: the head did not come in time. */
  timeout(ms: number): void {
    this.timer = null;
    if (this.body !== null || this.failed !== null) return;
    const err = new ProxyError(
      "DP_UPSTREAM_TIMEOUT",
      `upstream ${this.address} sent no response head within ${ms} ms`,
    );
    this.failed = err;
    this.reject(err);
    this.abortFn?.(err);
  }
  onHeaders(status: number, rawHeaders: Buffer[], resume: () => void): boolean {
    if (status < 200) return true; // 1xx informational: wait for the real response.
    if (this.failed !== null) return false;
    if (this.timer !== null) {
      clearTimeout(this.timer);
      this.timer = null;
    }
    this.resumeFn = resume;
    const body = new ResponseBody(this);
    this.body = body;
    this.resolve({ status, headers: forwardResponseHeaders(rawHeaders), body, errorCode: null });
    return true;
  }
  onUpgrade(status: number, rawHeaders: Buffer[], socket: Socket): void {
    if (this.timer !== null) {
      clearTimeout(this.timer);
      this.timer = null;
    }
    if (this.failed !== null) {
      socket.destroy();
      return;
    }
    this.body = ResponseBody.of(null);
    this.resolve({
      status,
      headers: forwardResponseHeaders(rawHeaders),
      body: this.body,
      errorCode: null,
      upgraded: socket,
    });
  }
  onData(chunk: Buffer): boolean {
    if (this.body === null) return false;
    return this.body.push(chunk);
  }
  /** Raw `[name, value, ...]` buffers (undici carries HTTP/1.1 only; HTTP/2 is upstream/h2.ts). */
  onComplete(rawTrailers: Buffer[] | null): void {
    if (this.body === null) return;
    let trailers: Record<string, string> | null = null;
    if (rawTrailers !== null && rawTrailers.length > 0) {
      trailers = {};
      for (let i = 0; i < rawTrailers.length; i += 2)
        trailers[rawTrailers[i]!.toString("latin1")] = rawTrailers[i + 1]!.toString("latin1");
    }
    this.body.end(trailers);
  }
  onError(err: Error): void {
    if (this.timer !== null) {
      clearTimeout(this.timer);
      this.timer = null;
    }
    if (this.failed !== null) return;
    if (this.body === null) this.reject(upstreamError(err, this.address));
    else this.body.fail(err);
  }
}

/**
 * Dispatches `req` on `pool`. Resolves when the response head arrives; rejects with a classified ProxyError when
 * no head arrives (connect failure, reset, timeout). `headersTimeoutMs` 0 means none.
 */
export function dispatchUpstream(
  pool: Dispatcher,
  address: string,
  req: ProxyRequest,
  headersTimeoutMs: number,
  idleTimeoutMs = 0,
): Promise<ProxyResponse> {
  return new Promise<ProxyResponse>((resolve, reject) => {
    const ex = new UpstreamExchange(address, resolve, reject);
    const headers = req.headers;
    headers.push("host", req.authority);
    let undiciTimeout = 0;
    if (headersTimeoutMs !== Infinity && headersTimeoutMs > 0) {
      if (headersTimeoutMs < PRECISE_TIMEOUT_BELOW_MS)
        ex.timer = setTimeout(onTimer, headersTimeoutMs, ex, headersTimeoutMs);
      else undiciTimeout = headersTimeoutMs;
    }
    try {
      pool.dispatch(
        {
          path: req.path,
          method: req.method,
          headers,
          body: req.body,
          headersTimeout: undiciTimeout,
          // undici's own idle timer between body chunks (coarse, ~1 s ticks; costs no timer per request).
          bodyTimeout: req.upgrade === null ? idleTimeoutMs : 0,
          upgrade: req.upgrade,
        } as Dispatcher.DispatchOptions,
        ex as unknown as Dispatcher.DispatchHandler,
      );
    } finally {
      // The list is reused by the next try; undici copied it.
      headers.length -= 2;
    }
  });
}

function onTimer(ex: UpstreamExchange, ms: number): void {
  ex.timeout(ms);
}
