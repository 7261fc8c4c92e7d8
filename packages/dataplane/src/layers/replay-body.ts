// A request body that a retry can send again. The client's body is read once; each try gets its own stream
// of it. While the first try streams the live body (it never waits for the whole of it), a copy is kept, up to
// a limit; a retry's stream serves the copy and then goes on with the live rest, so a try that failed before
// the client had sent everything (a 503 from an upstream that did not read the body) is retried too. Past the
// limit nothing more is copied and the body can no longer be replayed: the retry layer then keeps the outcome
// it has. So memory is bounded by the limit per request, and is freed as soon as no retry can come.
//
// One consumer reads the client's body at a time: a new try takes over from the previous one (which is
// destroyed, so undici resets its upstream connection rather than finish a truncated request). Backpressure
// goes to the client: the body is paused whenever the try reading it is.
import { Readable } from "node:stream";

/** The stream one try sends upstream. */
class TryBody extends Readable {
  /** Index of the next kept chunk to replay. */
  pos = 0;
  /** Reading the client's body as it arrives (caught up with the copy). */
  live = false;
  constructor(private readonly owner: ReplayBody) {
    super();
  }
  override _read(): void {
    this.owner.pull(this);
  }
  override _destroy(err: Error | null, cb: (err?: Error | null) => void): void {
    this.owner.detach(this);
    cb(err);
  }
}

export class ReplayBody {
  /** Copies of what the client sent so far; null once no replay can happen (too big, failed, released). */
  private kept: Buffer[] | null = [];
  private keptBytes = 0;
  private replayableState = true;
  private ended = false;
  private error: Error | null = null;
  private current: TryBody | null = null;
  private released = false;
  private draining = false;

  constructor(
    private readonly source: Readable,
    private readonly limit: number,
  ) {
    source.on("data", this.onData);
    source.on("end", this.onEnd);
    source.on("error", this.onError);
    source.on("close", this.onClose);
    source.pause(); // until a try reads
  }

  /** Bytes the copy holds now: at most the limit, 0 once no replay can happen. */
  get bytesKept(): number {
    return this.kept === null ? 0 : this.keptBytes;
  }

  /** The client's body can still be sent whole to another try: it fit the limit and did not fail. */
  replayable(): boolean {
    return this.replayableState;
  }

  /** A stream of the body for the next try. The previous try's stream, if still reading, is cut. */
  nextTry(): Readable {
    const old = this.current;
    this.current = null;
    if (old !== null) old.destroy(); // closed before its end: undici aborts that try if it is still sending
    const t = new TryBody(this);
    this.current = t;
    return t;
  }

  /**
   * No retry will follow. The last try keeps reading (its upstream may still be taking the body); the copy is
   * freed once that try has had it, and what no try reads any more is drained, so the client can finish.
   * `tryFailed`: the last try ended in an error, so nothing reads its stream any more.
   */
  release(tryFailed: boolean): void {
    this.released = true;
    this.replayableState = false;
    const t = this.current;
    if (t === null) this.drain();
    else if (tryFailed) t.destroy(); // detach() then drains
    if (this.current === null || this.current.pos >= (this.kept?.length ?? 0)) this.kept = null;
  }

  pull(t: TryBody): void {
    if (t !== this.current) return;
    const kept = this.kept;
    if (kept !== null) {
      while (t.pos < kept.length) if (!t.push(kept[t.pos++]!)) return;
      if (this.released) this.kept = null; // the last try has had all of it
    }
    if (this.error !== null) {
      fail(t, this.error);
      return;
    }
    if (this.ended) {
      t.push(null);
      return;
    }
    t.live = true;
    this.source.resume();
  }

  detach(t: TryBody): void {
    if (t !== this.current) return;
    this.current = null;
    if (this.released) this.drain();
    else if (!this.ended) this.source.pause();
  }

  private readonly onData = (chunk: Buffer): void => {
    if (this.draining) return;
    const t = this.current;
    if (this.replayableState) {
      if (this.keptBytes + chunk.length > this.limit) {
        this.replayableState = false;
        this.kept = null;
      } else {
        // A copy: the chunk may be a slice of a larger read buffer, which would then be held whole.
        this.kept!.push(Buffer.from(chunk));
        this.keptBytes += chunk.length;
      }
    }
    if (t === null || !t.live) {
      // Only a live try resumes the body, and pause() stops 'data' at once: not reached but by a bug.
      this.source.pause();
      return;
    }
    if (this.kept !== null) t.pos = this.kept.length;
    if (!t.push(chunk)) {
      t.live = false;
      this.source.pause();
    }
  };

  private readonly onEnd = (): void => {
    this.ended = true;
    const t = this.current;
    if (t !== null && t.live) t.push(null);
  };

  private readonly onError = (err: Error): void => {
    if (this.error !== null) return;
    this.error = err;
    this.replayableState = false;
    this.kept = null;
    if (this.current !== null) fail(this.current, err);
  };

  /** An HTTP/2 stream, or a request whose socket went away, can close without an error or an end. */
  private readonly onClose = (): void => {
    if (!this.ended) this.onError(new Error("request body cut before its end"));
  };

  private drain(): void {
    if (this.draining || this.ended || this.error !== null) return;
    this.draining = true;
    this.source.resume();
  }
}

/** Ends a try's stream with the client's error; an 'error' nobody listens to would be thrown instead. */
function fail(t: TryBody, err: Error): void {
  t.destroy(t.listenerCount("error") > 0 ? err : undefined);
}
