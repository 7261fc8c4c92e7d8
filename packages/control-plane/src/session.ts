// One proxy's stream: hello → welcome (certificate) → config pushes answered by ACK/NACK, certificate
// renewals, telemetry reports. Messages from one proxy are handled in order, one at a time. This file is the
// protocol; what it drives has its own: the paced config writer (config-writer.ts), the stream's certificates
// (stream-certificates.ts) and its telemetry (telemetry-intake.ts).
import type { WebSocket } from "ws";
import {
  REVOKED_REASON,
  STREAM_CLOSE,
  STREAM_FEATURES,
  formatPath,
  spiffeId,
  ZProxyMessage,
  type ProxyMessage,
  type ProxyNode,
} from "@trellis/contracts";
import type { Db } from "@trellis/db";
import { CaError, type MeshCa } from "./ca.js";
import { ConfigWriter, type ConfigWriterDeps } from "./config-writer.js";
import { disconnectWorkload, registerWorkload, TcpPortError } from "./registry.js";
import { RENEWAL_LIMITED_CODE } from "./renewal-limit.js";
import type { Rollout } from "./rollout.js";
import { carriesService, groupOf, type ProxyGroup, type Snapshot } from "./snapshots.js";
import { revokeCertificates, StreamCertificates, type StreamCertificate } from "./stream-certificates.js";
import type { TelemetryAggregator } from "./telemetry.js";
import { TelemetryIntake } from "./telemetry-intake.js";
import type { VipAllocator } from "./vips.js";

/** What a join token allows: one namespace, and one service when the token names it. */
export interface JoinScope {
  joinTokenId: string;
  namespace: string;
  service: string | null;
}

export interface SessionDeps extends ConfigWriterDeps {
  db: Db;
  ca: MeshCa;
  scope: JoinScope;
  trustDomain: string;
  replicaId: string;
  certTtlMs: number;
  telemetryIntervalMs: number;
  log: (line: string) => void;
  snapshotFor(group: ProxyGroup): Snapshot | null;
  telemetry: TelemetryAggregator;
  rollout: Rollout;
  onReady(s: ProxySession): void;
  onClose(s: ProxySession, wasReady: boolean): void;
  onPushed(): void;
  /** Whether `namespace/name` is a registered service (the registry as of the last recompute). */
  knownService(namespace: string, name: string): boolean;
  /** The join token was revoked (heard from the database): the proxy is evicted, not served. */
  isRevoked(joinTokenId: string): boolean;
  /** Gives a service its VIP when its first proxy joins. */
  vips: VipAllocator;
}

/** What a proxy joined as: set by its hello, fixed for the stream's life. */
export interface JoinedProxy {
  readonly node: ProxyNode;
  /** What its config depends on. */
  readonly group: ProxyGroup;
  readonly workloadId: string;
  readonly spiffeId: string;
}

const HELLO_TIMEOUT_MS = 10_000;

export class ProxySession {
  /** What the proxy joined as, once it has said hello; null before. */
  private joined: JoinedProxy | null = null;
  ackedVersion: string | null = null;
  /** The last version this proxy refused, and why (it keeps serving `ackedVersion`). */
  nacked: { version: string; reason: string } | null = null;
  private alive = true;
  private queue: Promise<void> = Promise.resolve();
  private closed = false;
  private keepRegistration = false;
  private helloTimer: NodeJS.Timeout | null = null;
  /** A workload registered by a hello that did not complete (revoked meanwhile): its certificate is revoked. */
  private registeredId: string | null = null;
  /** When this stream registered it: its disconnect touches that registration only (disconnectWorkload). */
  private registeredAt: Date | null = null;
  private readonly writer: ConfigWriter;
  private readonly certs: StreamCertificates;
  private readonly intake: TelemetryIntake;
  private cleanedUp!: () => void;
  /** Settles when the stream has closed and its workload has been marked gone. */
  readonly finished = new Promise<void>((resolve) => (this.cleanedUp = resolve));

  constructor(
    private readonly ws: WebSocket,
    private readonly deps: SessionDeps,
  ) {
    this.writer = new ConfigWriter(ws, deps);
    this.certs = new StreamCertificates({
      db: deps.db,
      ca: deps.ca,
      certTtlMs: deps.certTtlMs,
      joinTokenId: deps.scope.joinTokenId,
    });
    this.intake = new TelemetryIntake({
      telemetry: deps.telemetry,
      telemetryIntervalMs: deps.telemetryIntervalMs,
      knownService: deps.knownService,
      complain: (refused, reported, reasons) => {
        this.deps.log(`control plane: proxy ${this.describe()} dropped ${refused} series: ${reasons}`);
        const message = `${refused} of ${reported} series refused: ${reasons}`;
        this.send({ type: "error", code: "TELEMETRY_REJECTED", message: message.slice(0, 2_000) });
      },
    });
  }

  get joinTokenId(): string {
    return this.deps.scope.joinTokenId;
  }

  /** What the proxy joined as while it gets pushes: null before its hello and once its stream has closed. */
  get ready(): JoinedProxy | null {
    return this.closed ? null : this.joined;
  }

  /** Its workload (see `CertificateHolder`): set at hello, kept after close. */
  get workloadId(): string | null {
    return this.joined?.workloadId ?? this.registeredId;
  }

  /** The last certificate issued on this stream (see `revokeCertificates`). */
  get certificate(): StreamCertificate | null {
    return this.certs.last;
  }

  /** The version last decided for this proxy (pushed or on its way), and the one it said it holds. */
  get sentVersion(): string | null {
    return this.writer.sentVersion;
  }

  start(): void {
    this.helloTimer = setTimeout(
      () => this.fail(STREAM_CLOSE.helloTimeout, "PROTOCOL", "no hello within 10 s"),
      HELLO_TIMEOUT_MS,
    );
    this.ws.on("pong", () => (this.alive = true));
    this.ws.on("message", (data, isBinary) => {
      if (isBinary) return this.fail(STREAM_CLOSE.protocol, "PROTOCOL", "messages are JSON text");
      const text = data.toString();
      this.queue = this.queue
        .then(() => this.receive(text))
        .catch((e: unknown) => {
          this.deps.log(`control plane: proxy ${this.describe()}: ${(e as Error).message}`);
          this.fail(1011, "INTERNAL", "the control plane failed to handle a message");
        });
    });
    this.ws.on("close", () => void this.onClosed());
    this.ws.on("error", () => this.ws.terminate());
  }

  /**
   * Sends a snapshot unless this proxy already has that version (or has it coming), or has not said hello.
   * Returns whether it will send (see `ConfigWriter.push`).
   */
  push(snap: Snapshot): boolean {
    return this.ready !== null && this.writer.push(snap);
  }

  heartbeat(): void {
    if (!this.alive) {
      this.deps.log(`control plane: proxy ${this.describe()} missed its heartbeat; dropping it`);
      this.ws.terminate();
      return;
    }
    this.alive = false;
    this.ws.ping();
  }

  /**
   * Closes the stream (terminating it if the proxy does not answer within 2 s) and waits for cleanup. With
   * `keepRegistration`, the workload stays an endpoint: the proxy is alive and will reconnect (to another
   * replica, or to this one after a restart); if it never does, the stale sweep removes it.
   */
  async close(code: number, reason: string, opts: { keepRegistration?: boolean } = {}): Promise<void> {
    if (opts.keepRegistration) this.keepRegistration = true;
    if (this.ws.readyState !== this.ws.CLOSED) {
      this.ws.close(code, reason);
      const t = setTimeout(() => this.ws.terminate(), 2_000);
      await this.finished;
      clearTimeout(t);
    }
    await this.finished;
  }

  private describe(): string {
    const node = this.joined?.node;
    return node ? `${node.namespace}/${node.service}/${node.version}@${node.address}` : "(before hello)";
  }

  private send(msg: object): void {
    this.writer.send(JSON.stringify(msg));
  }

  private fail(code: number, errCode: string, message: string): void {
    this.send({ type: "error", code: errCode, message });
    this.ws.close(code, message.slice(0, 120));
  }

  private async receive(text: string): Promise<void> {
    if (this.closed) return;
    let raw: unknown;
    try {
      raw = JSON.parse(text);
    } catch {
      return this.fail(STREAM_CLOSE.protocol, "PROTOCOL", "invalid JSON");
    }
    const parsed = ZProxyMessage.safeParse(raw);
    if (!parsed.success) {
      const i = parsed.error.issues[0];
      const where = `${formatPath(i?.path ?? [])} ${i?.message ?? ""}`.trim();
      // A hello names what the proxy wants to be; one that breaks a bound is refused for good (the proxy stops:
      // the same flags would be refused again), with the field that broke it.
      if ((raw as { type?: unknown } | null)?.type === "hello" && this.joined === null)
        return this.fail(
          STREAM_CLOSE.helloRefused,
          "HELLO_INVALID",
          `${formatPath(i?.path ?? [])}: ${innerMessage(i)}`,
        );
      return this.fail(STREAM_CLOSE.protocol, "PROTOCOL", `invalid message: ${where}`);
    }
    const msg: ProxyMessage = parsed.data;
    const j = this.joined;
    if (msg.type === "hello") {
      if (j !== null) return this.fail(STREAM_CLOSE.protocol, "PROTOCOL", "hello was already received");
      return this.hello(msg);
    }
    if (j === null) return this.fail(STREAM_CLOSE.protocol, "PROTOCOL", "the first message must be hello");
    switch (msg.type) {
      case "ack":
        return this.ack(j, msg.version, msg.nonce);
      case "nack":
        return this.nack(j, msg.version, msg.nonce, msg.error);
      case "resync":
        return this.resync(msg.version, msg.reason);
      case "csr":
        return this.renew(j, msg.csr);
      case "telemetry":
        return this.report(j, msg.series, msg.access ?? []);
    }
  }

  private async hello(msg: Extract<ProxyMessage, { type: "hello" }>): Promise<void> {
    if (this.helloTimer) clearTimeout(this.helloTimer);
    const { node } = msg;
    const { scope } = this.deps;
    if (node.namespace !== scope.namespace || (scope.service !== null && node.service !== scope.service)) {
      const allowed = scope.service ? `${scope.namespace}/${scope.service}` : `namespace ${scope.namespace}`;
      return this.fail(
        STREAM_CLOSE.forbidden,
        "FORBIDDEN",
        `this join token allows ${allowed}, not ${node.namespace}/${node.service}`,
      );
    }
    const spiffe = spiffeId(this.deps.trustDomain, node.namespace, node.service);
    let cert;
    try {
      cert = await this.certs.sign(msg.csr, spiffe);
    } catch (e) {
      if (e instanceof CaError) return this.fail(STREAM_CLOSE.protocol, e.code, e.message);
      throw e;
    }
    let id: string;
    let connectedAt: Date;
    try {
      ({ id, connectedAt } = await registerWorkload(this.deps.db, {
        node,
        identity: spiffe,
        ...(msg.workloadId ? { workloadId: msg.workloadId } : {}),
        joinTokenId: scope.joinTokenId,
        replicaId: this.deps.replicaId,
        certificate: cert,
        vips: this.deps.vips,
      }));
    } catch (e) {
      // Its TCP port is another live service's (or not its service's): refused, nothing registered.
      if (e instanceof TcpPortError) {
        this.deps.log(
          `control plane: proxy ${node.namespace}/${node.service}/${node.version}@${node.address} refused: ${e.code}: ${e.message}`,
        );
        return this.fail(STREAM_CLOSE.conflict, e.code, e.message);
      }
      throw e;
    }
    this.registeredId = id;
    this.registeredAt = connectedAt;
    // Recorded before the proxy has it: revoking the token revokes every certificate issued under it.
    await this.certs.record(cert, spiffe, id);
    if (this.closed) return void (await disconnectWorkload(this.deps.db, id, connectedAt));
    if (this.deps.isRevoked(scope.joinTokenId)) {
      // Revoked while this proxy joined: the revocation may have missed this workload and certificate.
      await revokeCertificates(this.deps.db, [this]);
      return this.fail(STREAM_CLOSE.revoked, "FORBIDDEN", REVOKED_REASON);
    }
    const joined: JoinedProxy = { node, group: groupOf(node), workloadId: id, spiffeId: spiffe };
    this.send({
      type: "welcome",
      workloadId: id,
      certificate: this.certs.wire(cert, spiffe),
      telemetryIntervalMs: this.deps.telemetryIntervalMs,
    });
    this.writer.deltas = msg.features?.includes(STREAM_FEATURES.delta) ?? false;
    this.writer.endpointDeltas =
      this.writer.deltas && (msg.features?.includes(STREAM_FEATURES.endpointDelta) ?? false);
    if (msg.appliedVersion) {
      // It serves this version already (reconnect): do not send it again, and send changes against it.
      this.ackedVersion = msg.appliedVersion;
      this.writer.resume(msg.appliedVersion);
    }
    this.joined = joined;
    this.deps.onReady(this);
    const snap = this.deps.snapshotFor(joined.group);
    if (snap && this.push(snap)) this.deps.onPushed();
  }

  private async ack(j: JoinedProxy, version: string, nonce: string): Promise<void> {
    // Only the answer to the latest push counts; a late answer to an older one is ignored (as in xDS).
    if (version !== this.writer.sentVersion || nonce !== this.writer.sentNonce) return;
    this.ackedVersion = version;
    // Batched with other proxies' answers: the workload row and the rollout row, in one write.
    await this.deps.rollout.ack(j.workloadId, version);
  }

  private async nack(j: JoinedProxy, version: string, nonce: string, error: string): Promise<void> {
    if (version !== this.writer.sentVersion || nonce !== this.writer.sentNonce) return;
    this.nacked = { version, reason: error };
    this.deps.log(`control plane: proxy ${this.describe()} refused config ${version}: ${error}`);
    await this.deps.rollout.nack(j.workloadId, version, error);
  }

  /** The proxy could not apply a delta: it holds something else than we thought. Send the whole snapshot. */
  private resync(version: string, reason: string): void {
    if (this.writer.resync(version))
      this.deps.log(`control plane: proxy ${this.describe()} asked for a whole config: ${reason}`);
  }

  private async renew(j: JoinedProxy, csr: string): Promise<void> {
    // An evicted proxy's stream is closing: it gets no new certificate.
    if (this.closed || this.deps.isRevoked(this.joinTokenId))
      return this.fail(STREAM_CLOSE.revoked, "FORBIDDEN", REVOKED_REASON);
    const wait = this.certs.takeRenewal();
    if (wait > 0)
      return this.send({
        type: "error",
        code: RENEWAL_LIMITED_CODE,
        message: `too many certificate renewals on this stream; the next is allowed in ${Math.ceil(wait / 1000)} s`,
      });
    let cert;
    try {
      cert = await this.certs.sign(csr, j.spiffeId);
    } catch (e) {
      if (e instanceof CaError) return this.send({ type: "error", code: e.code, message: e.message });
      throw e;
    }
    await this.certs.record(cert, j.spiffeId, j.workloadId, { renewal: true });
    if (this.deps.isRevoked(this.joinTokenId)) {
      // Revoked while it was signed: the eviction may have listed the previous certificate only.
      await revokeCertificates(this.deps.db, [this]);
      return this.fail(STREAM_CLOSE.revoked, "FORBIDDEN", REVOKED_REASON);
    }
    this.send({ type: "certificate", certificate: this.certs.wire(cert, j.spiffeId) });
  }

  /** Stores the series this proxy took part in (see telemetry-intake.ts). */
  private report(j: JoinedProxy, series: readonly unknown[], access: readonly unknown[]): void {
    // The config it was sent last, and the one in force for its group now (the same, unless a push is on its
    // way): a report covers calls made under either.
    const sent = this.writer.sent;
    const current = this.deps.snapshotFor(j.group);
    const carries = (ns: string, name: string) =>
      (sent !== null && carriesService(sent, ns, name)) ||
      (current !== null && carriesService(current, ns, name));
    this.intake.take(j.node, series, access, carries);
  }

  private async onClosed(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    if (this.helloTimer) clearTimeout(this.helloTimer);
    const wasReady = this.joined !== null;
    this.writer.close();
    await this.queue.catch(() => {});
    if (this.workloadId && this.registeredAt && !this.keepRegistration)
      await disconnectWorkload(this.deps.db, this.workloadId, this.registeredAt).catch(() => {});
    this.deps.onClose(this, wasReady);
    this.cleanedUp();
  }
}

/** A zod issue's message; for a record key, the key schema's own (zod says only "Invalid key in record"). */
function innerMessage(i: { message: string; issues?: readonly { message: string }[] } | undefined): string {
  return i?.issues?.[0]?.message ?? i?.message ?? "";
}
