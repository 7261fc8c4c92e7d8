// The proxy's stream to the control plane: join with a token, get a certificate for a key made here, apply
// pushed config snapshots, whole or as deltas (adding the local parts: key, certificate, app port) and answer
// ACK or NACK (or `resync` when a delta does not fit what it holds), renew
// the certificate at half-life, report telemetry. When the control plane goes away the proxy keeps serving
// its last good config and reconnects: to the next replica of its list at once, and with exponential backoff
// and full jitter once every replica has failed in turn; on reconnect it says which version it serves, so
// nothing is resent and there is no gap. A replica that goes silent without closing the connection (its host
// died, a link was cut) is noticed by pings: no answer within `streamTimeoutMs`, and the stream counts as
// closed (docs/decisions/015-control-plane-failover.md).
import WebSocket from "ws";
import {
  applyConfigDelta,
  MESH_STREAM_PATH,
  MESH_TRACES_PATH,
  REVOKED_REASON,
  STREAM_CLOSE,
  STREAM_ERRORS,
  STREAM_FEATURES,
  ZControlPlaneMessage,
  type HeldConfig,
  type ControlPlaneMessage,
  type IssuedCertificate,
  type ProxyNode,
  type TelemetrySeries,
} from "@trellis/contracts/proxy";
import { startProxy, type ProxyHandle, type StartProxyOptions } from "../proxy.js";
import { fetchPinnedCa, generateKeyAndCsr, MeshJoinError } from "./identity.js";

/** A renewal refused as too soon is asked again after this long (the control plane earns one back per minute). */
const RENEWAL_RETRY_MS = 60_000;

export interface MeshProxyOptions {
  /**
   * The control-plane replicas, `https://host:15010` each, in the order they are tried: the first that answers
   * holds the stream; when it fails the proxy moves to the next (after the last, the first again).
   */
  controlPlaneUrls: readonly string[];
  /** `tj1.<CA fingerprint>.<secret>` */
  token: string;
  /** Who this proxy speaks for, and where other proxies reach its inbound listener. */
  node: ProxyNode;
  /**
   * The local app. `protocol`: how it speaks, `http1` (default) or `h2c` (HTTP/2 with prior knowledge, as
   * gRPC servers do; every request then reaches it over HTTP/2, HTTP/1.1 callers' too).
   */
  app: { port: number; address?: string; tcpPorts?: number[]; protocol?: "http1" | "h2c" };
  listeners?: StartProxyOptions["listeners"];
  /** Transparent capture is installed in this network namespace (see StartProxyOptions.capture). */
  capture?: boolean;
  /** Serve DNS for the mesh's names (see StartProxyOptions.dns). */
  dns?: StartProxyOptions["dns"];
  drainTimeoutMs?: number;
  log?: (line: string) => void;
  /**
   * Reads what to report since the last call (deltas). Default: the proxy's own request telemetry;
   * `false` sends none.
   */
  readTelemetry?: ((proxy: ProxyHandle) => TelemetrySeries[]) | false;
  /**
   * Reconnect backoff: base and cap (ms). Defaults 500 ms and 30 s. It grows once per round of the replica
   * list, not per replica tried.
   */
  backoff?: { baseMs?: number; maxMs?: number };
  /**
   * How long a replica may stay silent (ms, default 10 s): a connect (CA fetch, TLS, upgrade) not done by then
   * fails, and an open stream is pinged every half of it and closed when a ping goes unanswered for the other
   * half, so a replica whose host died is given up within this bound.
   */
  streamTimeoutMs?: number;
}

export interface MeshProxy {
  /** Resolves with the running proxy once the first config is in force. */
  readonly ready: Promise<ProxyHandle>;
  proxy(): ProxyHandle | null;
  workloadId(): string | null;
  /** Whether the stream to the control plane is up now. */
  connected(): boolean;
  /** The replica (one of `controlPlaneUrls`) the stream is up with now; null while not connected. */
  controlPlaneUrl(): string | null;
  certificate(): IssuedCertificate | null;
  close(): Promise<void>;
}

/** Default of `MeshProxyOptions.streamTimeoutMs`. */
export const DEFAULT_STREAM_TIMEOUT_MS = 10_000;

export function startMeshProxy(opts: MeshProxyOptions): MeshProxy {
  const log = opts.log ?? ((l: string) => process.stderr.write(`${l}\n`));
  const baseMs = opts.backoff?.baseMs ?? 500;
  const maxMs = opts.backoff?.maxMs ?? 30_000;
  const streamTimeoutMs = opts.streamTimeoutMs ?? DEFAULT_STREAM_TIMEOUT_MS;
  const urls = [...new Set(opts.controlPlaneUrls)];
  if (urls.length === 0) throw new TypeError("startMeshProxy: give at least one control-plane URL");

  let caPem: string | null = null;
  let keyPem: string | null = null;
  let pendingKeyPem: string | null = null;
  let cert: IssuedCertificate | null = null;
  let workloadId: string | null = null;
  let proxy: ProxyHandle | null = null;
  /** The last config put in force (what a reconnect says it serves). */
  let lastConfig: HeldConfig | null = null;
  /**
   * The last config received, applied or refused: what the control plane's next delta is against. On a new
   * stream it is `lastConfig` again, since the hello announces that one.
   */
  let received: HeldConfig | null = null;
  let ws: WebSocket | null = null;
  let isConnected = false;
  let closing = false;
  /** Rounds of the replica list that failed since the last welcome: the backoff's exponent. */
  let attempt = 0;
  /** The replica tried now, or connected to (an index into `urls`). */
  let current = 0;
  /** Replicas that failed in turn since the last welcome or the last backoff; a whole list of them is a round. */
  let failedInRound = 0;
  let reconnectTimer: NodeJS.Timeout | null = null;
  let telemetryTimer: NodeJS.Timeout | null = null;
  let renewTimer: NodeJS.Timeout | null = null;
  let resolveReady!: (p: ProxyHandle) => void;
  let rejectReady!: (e: Error) => void;
  const ready = new Promise<ProxyHandle>((res, rej) => {
    resolveReady = res;
    rejectReady = rej;
  });
  ready.catch(() => {});

  /** The pushed config plus what only this proxy knows. */
  function localize(config: Record<string, unknown>, version: string): Record<string, unknown> {
    const out: Record<string, unknown> = {
      ...config,
      version,
      tls: { certPem: cert!.certPem, keyPem: keyPem!, caPem: cert!.caPem },
    };
    const tracing = config.tracing as Record<string, unknown> | undefined;
    if (tracing && tracing.endpoint === undefined) {
      // Spans go to the intake of the replica the stream is up with (a welcome from another one re-applies the
      // config, so they follow a fail-over), which names their workload by this proxy's certificate.
      out.tracing = {
        ...tracing,
        endpoint: new URL(MESH_TRACES_PATH, urls[current]!).href,
        workloadCertificate: true,
      };
    }
    const inbound = config.inbound as Record<string, unknown> | undefined;
    if (inbound) {
      out.inbound = {
        ...inbound,
        appPort: opts.app.port,
        appAddress: opts.app.address ?? "127.0.0.1",
        ...(opts.app.tcpPorts ? { tcpPorts: opts.app.tcpPorts } : {}),
        ...(opts.app.protocol ? { appProtocol: opts.app.protocol } : {}),
      };
    }
    return out;
  }

  async function apply(config: Record<string, unknown>, version: string): Promise<string | null> {
    const local = localize(config, version);
    if (!proxy) {
      try {
        proxy = await startProxy({
          config: local,
          ...(opts.listeners ? { listeners: opts.listeners } : {}),
          ...(opts.capture ? { capture: true } : {}),
          ...(opts.dns ? { dns: opts.dns } : {}),
          ...(opts.drainTimeoutMs !== undefined ? { drainTimeoutMs: opts.drainTimeoutMs } : {}),
          log,
        });
        resolveReady(proxy);
        return null;
      } catch (e) {
        return (e as Error).message;
      }
    }
    const r = proxy.applyConfig(local);
    return r.ok ? null : r.error;
  }

  function send(msg: object): void {
    if (ws && ws.readyState === WebSocket.OPEN) ws.send(JSON.stringify(msg));
  }

  function scheduleRenewal(): void {
    if (renewTimer) clearTimeout(renewTimer);
    const left = new Date(cert!.notAfter).getTime() - Date.now();
    // At half-life, as the issue asks; never sooner than 1 s (a clock skew must not cause a renewal storm).
    renewTimer = setTimeout(() => void renew(), Math.max(1_000, left / 2));
    renewTimer.unref();
  }

  async function renew(): Promise<void> {
    const { keyPem: k, csrPem } = await generateKeyAndCsr();
    pendingKeyPem = k;
    send({ type: "csr", csr: csrPem });
  }

  async function onMessage(msg: ControlPlaneMessage): Promise<void> {
    switch (msg.type) {
      case "welcome": {
        attempt = 0;
        failedInRound = 0;
        workloadId = msg.workloadId;
        cert = msg.certificate;
        keyPem = pendingKeyPem ?? keyPem;
        pendingKeyPem = null;
        isConnected = true;
        log(
          `trellis proxy: joined the mesh as ${cert.spiffeId} (workload ${workloadId}) through ${urls[current]}`,
        );
        scheduleRenewal();
        if (telemetryTimer) clearInterval(telemetryTimer);
        const readTelemetry =
          opts.readTelemetry === false ? null : (opts.readTelemetry ?? ((p) => p.drainTelemetry()));
        if (readTelemetry !== null) {
          const every = msg.telemetryIntervalMs;
          const report = (): boolean => {
            if (!proxy) return false;
            // Drained together, so that a request's series and its access observation land in the same report
            // (the control plane compares their counts to tell complete observations from partial ones).
            const series = readTelemetry(proxy);
            const access = proxy.drainAccess();
            if (series.length === 0 && access.length === 0) return false;
            send({ type: "telemetry", intervalMs: every, series, ...(access.length > 0 ? { access } : {}) });
            return true;
          };
          // Until the proxy has carried its first calls, it looks every 2 s, so a new workload reaches the
          // graph seconds after its first call rather than up to a whole interval later; then every interval.
          const first = setInterval(
            () => {
              if (!report()) return;
              clearInterval(first);
              telemetryTimer = setInterval(report, every);
              telemetryTimer.unref();
            },
            Math.min(2_000, every),
          );
          telemetryTimer = first;
          first.unref();
        }
        // A new certificate for the same config: put it in force now.
        if (lastConfig && proxy) {
          const err = await apply(lastConfig.config, lastConfig.version);
          if (err) log(`trellis proxy: re-applying with the new certificate failed: ${err}`);
        }
        return;
      }
      case "config":
      case "delta": {
        let next: HeldConfig;
        if (msg.type === "config")
          next = { version: msg.version, config: (msg.config ?? {}) as Record<string, unknown> };
        else {
          const r = applyConfigDelta(received, msg);
          if (!r.ok) {
            // Not a refusal of the config: we hold something else than the control plane thinks. Ask for all of it.
            log(`trellis proxy: asking for the whole config: ${r.error}`);
            send({ type: "resync", version: msg.version, nonce: msg.nonce, reason: r.error.slice(0, 1000) });
            return;
          }
          next = r.held;
        }
        received = next;
        const err = await apply(next.config, next.version);
        if (err === null) {
          lastConfig = next;
          send({ type: "ack", version: msg.version, nonce: msg.nonce });
        } else {
          log(`trellis proxy: refused config ${msg.version}: ${err}`);
          send({ type: "nack", version: msg.version, nonce: msg.nonce, error: err.slice(0, 4000) });
        }
        return;
      }
      case "certificate": {
        if (!pendingKeyPem) return;
        cert = msg.certificate;
        keyPem = pendingKeyPem;
        pendingKeyPem = null;
        scheduleRenewal();
        if (lastConfig) {
          const err = await apply(lastConfig.config, lastConfig.version);
          if (err) log(`trellis proxy: putting the renewed certificate in force failed: ${err}`);
          else log(`trellis proxy: certificate renewed (serial ${cert.serial}, until ${cert.notAfter})`);
        }
        return;
      }
      case "error":
        log(`trellis proxy: control plane says ${msg.code}: ${msg.message}`);
        // Our renewal came too soon (never at the half-life schedule; after a clock jump, say): ask again later,
        // with the key already made, as long as the certificate in force lasts.
        if (msg.code === STREAM_ERRORS.renewalLimited && pendingKeyPem && cert) {
          if (renewTimer) clearTimeout(renewTimer);
          renewTimer = setTimeout(() => void renew(), RENEWAL_RETRY_MS);
          renewTimer.unref();
        }
        return;
    }
  }

  /**
   * The replica in use failed (a connect, or a stream that closed): the next one is tried, at once after a
   * failed connect, within a jittered `baseMs` after a closed stream (every proxy of a replica that stopped loses
   * it at the same instant; the next replica should not meet them all at once). When every replica has failed
   * in turn, the round ends with the exponential backoff, full jitter (a whole control plane restarting must not
   * be met by every proxy at the same instant).
   */
  function scheduleReconnect(after: "connect" | "stream"): void {
    if (closing || reconnectTimer) return;
    current = (current + 1) % urls.length;
    failedInRound++;
    let delay: number;
    if (failedInRound >= urls.length) {
      failedInRound = 0;
      delay = Math.floor(Math.random() * Math.min(maxMs, baseMs * 2 ** Math.min(attempt, 16)));
      attempt++;
      // Once per round, so as rarely as the backoff allows: an operator sees that the proxy is cut off from
      // every replica, not only that it lost one.
      if (after === "connect")
        log(
          `trellis proxy: no control plane answered (${urls.join(", ")}); serving config ${proxy?.currentVersion() ?? "none"}, trying again in ${(delay / 1000).toFixed(1)} s`,
        );
    } else {
      delay = after === "connect" ? 0 : Math.floor(Math.random() * baseMs);
    }
    reconnectTimer = setTimeout(() => {
      reconnectTimer = null;
      void connect();
    }, delay);
  }

  async function connect(): Promise<void> {
    if (closing) return;
    const url = urls[current]!;
    try {
      caPem ??= await fetchPinnedCa(url, opts.token, { timeoutMs: streamTimeoutMs });
    } catch (e) {
      if (e instanceof MeshJoinError && e.code !== "DP_CA_UNREACHABLE") {
        // A wrong token or a foreign CA will not fix itself: stop, loudly.
        log(`trellis proxy: ${e.message}`);
        rejectReady(e);
        closing = true;
        return;
      }
      log(
        `trellis proxy: ${(e as Error).message}; ${urls.length > 1 ? "trying the next control plane" : "retrying"}`,
      );
      return scheduleReconnect("connect");
    }
    // Every hello asks for a certificate for a fresh key; the welcome puts both in force together.
    const fresh = await generateKeyAndCsr();
    pendingKeyPem = fresh.keyPem;
    const csrPem = fresh.csrPem;
    const socket = new WebSocket(new URL(MESH_STREAM_PATH, url), {
      ca: caPem,
      headers: { authorization: `Bearer ${opts.token}` },
      perMessageDeflate: false,
      handshakeTimeout: streamTimeoutMs,
      maxPayload: 64 * 1024 * 1024,
    });
    ws = socket;
    // Whether anything came from the replica since the last ping. TCP alone would notice a dead peer only
    // after minutes of retransmissions (keepalive: hours): a replica whose host died sends no FIN.
    let heard = true;
    let silent = false;
    let pinger: NodeJS.Timeout | null = null;
    const hear = () => {
      heard = true;
    };
    socket.on("pong", hear);
    socket.on("ping", hear);
    // The hello announces `lastConfig`: the control plane's deltas on this stream start from it.
    received = lastConfig;
    let queue = Promise.resolve();
    socket.on("open", () => {
      pinger = setInterval(() => {
        if (!heard) {
          silent = true;
          socket.terminate();
          return;
        }
        heard = false;
        socket.ping();
      }, streamTimeoutMs / 2);
      pinger.unref();
      socket.send(
        JSON.stringify({
          type: "hello",
          // The control plane learns from the node that the service is TCP, and on which port callers reach it.
          node: opts.app.tcpPorts?.length ? { ...opts.node, tcpPorts: opts.app.tcpPorts } : opts.node,
          csr: csrPem,
          ...(workloadId ? { workloadId } : {}),
          ...(lastConfig ? { appliedVersion: lastConfig.version } : {}),
          features: [STREAM_FEATURES.delta, STREAM_FEATURES.endpointDelta],
        }),
      );
    });
    socket.on("message", (data) => {
      heard = true;
      let msg: ControlPlaneMessage;
      try {
        msg = ZControlPlaneMessage.parse(JSON.parse(data.toString()));
      } catch {
        log("trellis proxy: ignored a message the control plane should not have sent");
        return;
      }
      queue = queue
        .then(() => onMessage(msg))
        .catch((e: unknown) => log(`trellis proxy: ${(e as Error).message}`));
    });
    socket.on("unexpected-response", (_req, res) => {
      let body = "";
      res.on("data", (c: Buffer) => (body += c.toString()));
      res.on("end", () => {
        log(`trellis proxy: the control plane refused the stream (HTTP ${res.statusCode}): ${body.trim()}`);
        if (res.statusCode === 401 || res.statusCode === 403) {
          rejectReady(new MeshJoinError("DP_JOIN_TOKEN_INVALID", body.trim() || "join token refused"));
          closing = true;
        }
        // With a listener for this event, ws leaves the handshake open: end it, so that `close` follows and
        // the next replica is tried (a replica shutting down answers 503 "reconnect to another replica").
        socket.terminate();
      });
    });
    socket.on("error", () => {});
    socket.on("close", (code, reason) => {
      if (pinger) clearInterval(pinger);
      if (ws === socket) ws = null;
      const wasConnected = isConnected;
      isConnected = false;
      if (telemetryTimer) clearInterval(telemetryTimer);
      if (closing) return;
      if (code === STREAM_CLOSE.revoked) {
        // Evicted: the join token this proxy joined with was revoked. Joining again with it is refused.
        log(
          `trellis proxy: evicted from the mesh by the control plane: ${reason.toString() || REVOKED_REASON}; not reconnecting (the certificate it issued is revoked too); still serving config ${proxy?.currentVersion() ?? "none"} until stopped`,
        );
        rejectReady(new MeshJoinError("DP_JOIN_TOKEN_REVOKED", reason.toString() || REVOKED_REASON));
        closing = true;
        return;
      }
      if (code === STREAM_CLOSE.forbidden) {
        log(`trellis proxy: the control plane refused this proxy: ${reason.toString()}`);
        rejectReady(new MeshJoinError("DP_JOIN_TOKEN_INVALID", reason.toString()));
        closing = true;
        return;
      }
      if (code === STREAM_CLOSE.helloRefused) {
        // Its hello broke a bound (labels, address, …): the same flags would be refused again.
        log(
          `trellis proxy: the control plane refused this proxy's hello (fix its flags): ${reason.toString()}`,
        );
        rejectReady(new MeshJoinError("DP_HELLO_REFUSED", reason.toString()));
        closing = true;
        return;
      }
      if (code === STREAM_CLOSE.tooManyStreams)
        // Its join token holds the most streams a replica allows: a place frees when one of them closes.
        log(`trellis proxy: the control plane refused the stream: ${reason.toString()}; retrying`);
      else if (wasConnected)
        log(
          `trellis proxy: lost the control plane ${url} (${silent ? `no answer to a ping within ${streamTimeoutMs / 2} ms` : code}); serving the last config (${proxy?.currentVersion() ?? "none"}) and ${urls.length > 1 ? "trying the next replica" : "reconnecting"}`,
        );
      scheduleReconnect(wasConnected ? "stream" : "connect");
    });
  }

  void connect();

  return {
    ready,
    proxy: () => proxy,
    workloadId: () => workloadId,
    connected: () => isConnected,
    controlPlaneUrl: () => (isConnected ? urls[current]! : null),
    certificate: () => cert,
    async close() {
      closing = true;
      for (const t of [reconnectTimer, telemetryTimer, renewTimer]) if (t) clearTimeout(t);
      if (ws) {
        const s = ws;
        await new Promise<void>((resolve) => {
          const t = setTimeout(() => {
            s.terminate();
            resolve();
          }, 2_000);
          s.once("close", () => {
            clearTimeout(t);
            resolve();
          });
          s.close(1000, "proxy stopping");
        });
      }
      rejectReady(new Error("closed before the first config"));
      if (proxy) await proxy.close();
    },
  };
}
