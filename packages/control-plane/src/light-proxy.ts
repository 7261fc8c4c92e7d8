// A light proxy: speaks the real stream protocol (join token, CA pinning, CSR, ACK/NACK, telemetry) but
// routes no traffic. For tests and the scale benchmark, where thousands of them run in one process.
import WebSocket from "ws";
import {
  applyConfigDelta,
  MESH_STREAM_PATH,
  STREAM_FEATURES,
  ZControlPlaneMessage,
  type HeldConfig,
  type ControlPlaneMessage,
  type IssuedCertificate,
  type ProxyNode,
  type TelemetrySeries,
} from "@trellis/contracts";

export interface LightProxyOptions {
  url: string;
  token: string;
  caPem: string;
  node: ProxyNode;
  csrPem: string;
  workloadId?: string;
  appliedVersion?: string;
  /** The config held for `appliedVersion` (deltas apply to it); without it, a delta is answered with resync. */
  held?: HeldConfig;
  /** Protocol features announced in the hello. Default: deltas, with endpoint edits. */
  features?: string[];
  /** Return an error string to NACK; default ACKs everything. */
  decide?: (config: unknown, version: string) => string | null;
  onMessage?: (msg: ControlPlaneMessage) => void;
}

export class LightProxy {
  /** Every config received (deltas applied: each entry is a whole config), in order. */
  readonly configs: { version: string; at: number; config: unknown; delta: boolean }[] = [];
  /** Resyncs this proxy asked for (deltas that did not fit what it held). */
  readonly resyncs: string[] = [];
  private received: HeldConfig | null = null;
  workloadId: string | null = null;
  certificate: IssuedCertificate | null = null;
  appliedVersion: string | null = null;
  closeCode: number | null = null;
  closeReason = "";
  errors: string[] = [];
  private ws!: WebSocket;
  private readonly waiters: (() => void)[] = [];

  constructor(private readonly opts: LightProxyOptions) {
    this.received = opts.held ?? null;
  }

  /** The last config received, with deltas applied. */
  held(): HeldConfig | null {
    return this.received;
  }

  /** Connects and sends hello; resolves when the socket is open (not when welcomed). */
  connect(): Promise<void> {
    return new Promise((resolve, reject) => {
      this.ws = new WebSocket(new URL(MESH_STREAM_PATH, this.opts.url), {
        ca: this.opts.caPem,
        headers: { authorization: `Bearer ${this.opts.token}` },
        perMessageDeflate: false,
        handshakeTimeout: 10_000,
      });
      this.ws.once("open", () => {
        this.ws.send(
          JSON.stringify({
            type: "hello",
            node: this.opts.node,
            csr: this.opts.csrPem,
            ...(this.opts.workloadId ? { workloadId: this.opts.workloadId } : {}),
            ...(this.opts.appliedVersion ? { appliedVersion: this.opts.appliedVersion } : {}),
            features: this.opts.features ?? [STREAM_FEATURES.delta, STREAM_FEATURES.endpointDelta],
          }),
        );
        resolve();
      });
      this.ws.once("unexpected-response", (_req, res) => {
        let body = "";
        res.on("data", (c: Buffer) => (body += c.toString()));
        res.on("end", () => reject(new Error(`HTTP ${res.statusCode}: ${body.trim()}`)));
      });
      this.ws.once("error", reject);
      this.ws.on("message", (data) => this.onMessage(data.toString()));
      this.ws.on("close", (code, reason) => {
        this.closeCode = code;
        this.closeReason = reason.toString();
        this.wake();
      });
    });
  }

  private onMessage(text: string): void {
    const msg = ZControlPlaneMessage.parse(JSON.parse(text));
    this.opts.onMessage?.(msg);
    if (msg.type === "welcome") {
      this.workloadId = msg.workloadId;
      this.certificate = msg.certificate;
    } else if (msg.type === "certificate") {
      this.certificate = msg.certificate;
    } else if (msg.type === "error") {
      this.errors.push(`${msg.code}: ${msg.message}`);
    } else if (msg.type === "config" || msg.type === "delta") {
      let held: HeldConfig;
      if (msg.type === "config")
        held = { version: msg.version, config: msg.config as Record<string, unknown> };
      else {
        const r = applyConfigDelta(this.received, msg);
        if (!r.ok) {
          this.resyncs.push(r.error);
          this.ws.send(
            JSON.stringify({ type: "resync", version: msg.version, nonce: msg.nonce, reason: r.error }),
          );
          return this.wake();
        }
        held = r.held;
      }
      this.received = held;
      this.configs.push({
        version: msg.version,
        at: Date.now(),
        config: held.config,
        delta: msg.type === "delta",
      });
      const err = this.opts.decide?.(held.config, msg.version) ?? null;
      if (err === null) {
        this.appliedVersion = msg.version;
        this.ws.send(JSON.stringify({ type: "ack", version: msg.version, nonce: msg.nonce }));
      } else {
        this.ws.send(JSON.stringify({ type: "nack", version: msg.version, nonce: msg.nonce, error: err }));
      }
    }
    this.wake();
  }

  private wake(): void {
    for (const w of this.waiters.splice(0)) w();
  }

  /** Waits until `pred` holds (checked after every message), or fails after `timeoutMs`. */
  async until(pred: () => boolean, timeoutMs = 10_000, what = "condition"): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    while (!pred()) {
      const left = deadline - Date.now();
      if (left <= 0) throw new Error(`timed out waiting for ${what}`);
      await new Promise<void>((resolve) => {
        const t = setTimeout(resolve, Math.min(left, 200));
        this.waiters.push(() => {
          clearTimeout(t);
          resolve();
        });
      });
    }
  }

  /** A telemetry report; `access`: observations (contracts' ZAccessObservation), sent as given. */
  sendTelemetry(series: TelemetrySeries[], intervalMs = 10_000, access?: unknown[]): void {
    this.ws.send(JSON.stringify({ type: "telemetry", intervalMs, series, ...(access ? { access } : {}) }));
  }

  sendCsr(csrPem: string): void {
    this.ws.send(JSON.stringify({ type: "csr", csr: csrPem }));
  }

  sendRaw(text: string): void {
    this.ws.send(text);
  }

  close(): Promise<void> {
    return new Promise((resolve) => {
      if (this.ws.readyState === WebSocket.CLOSED) return resolve();
      const t = setTimeout(() => this.ws.terminate(), 2_000);
      this.ws.once("close", () => {
        clearTimeout(t);
        resolve();
      });
      this.ws.close(1000, "bye");
    });
  }

  /** Drops the connection without a close handshake, as a crashed proxy would. */
  kill(): void {
    this.ws.terminate();
  }
}
