// One proxy's stream: hello → welcome (certificate) → config pushes answered by ACK/NACK, certificate
// renewals, telemetry reports. Messages from one proxy are handled in order, one at a time.
import type { WebSocket } from "ws";
import {
  STREAM_FEATURES,
  TELEMETRY_LIMITS,
  ZProxyMessage,
  type ProxyMessage,
  type ProxyNode,
} from "@trellis/contracts";
import type { Db } from "@trellis/db";
import { CaError, spiffeId, type MeshCa } from "./ca.js";
import { disconnectWorkload, registerWorkload, TcpPortError } from "./registry.js";
import { RENEWAL_LIMITED_CODE, RenewalLimit } from "./renewal-limit.js";
import type { PushQueue, PushTarget } from "./push-queue.js";
import type { Rollout } from "./rollout.js";
import { carriesService, groupOf, type Encoded, type ProxyGroup, type Snapshot } from "./snapshots.js";
import type { TelemetryAggregator } from "./telemetry.js";
import { describeReasons, screenAccess, screenReport } from "./telemetry-scope.js";

/** What a join token allows: one namespace, and one service when the token names it. */
export interface JoinScope {
  joinTokenId: string;
  namespace: string;
  service: string | null;
}

export interface SessionDeps {
  db: Db;
  ca: MeshCa;
  scope: JoinScope;
  trustDomain: string;
  replicaId: string;
  certTtlMs: number;
  telemetryIntervalMs: number;
  log: (line: string) => void;
  snapshotFor(group: ProxyGroup): Snapshot | null;
  /** The message that brings a proxy holding `base` (null: unknown) to `snap`. */
  encode(snap: Snapshot, base: Snapshot | null): Encoded;
  /** A snapshot of this version, if the replica still has one (the base for deltas to a reconnecting proxy). */
  lookup(version: string): Snapshot | null;
  /** Keeps a snapshot while this proxy holds it (the base of its next delta); paired with `release`. */
  hold(snap: Snapshot): void;
  release(snap: Snapshot): void;
  telemetry: TelemetryAggregator;
  rollout: Rollout;
  pushes: PushQueue;
  onReady(s: ProxySession): void;
  onClose(s: ProxySession, wasReady: boolean): void;
  onPushed(): void;
  onWritten(e: Encoded): void;
  /** Whether `namespace/name` is a registered service (the registry as of the last recompute). */
  knownService(namespace: string, name: string): boolean;
  /** The join token was revoked (heard from the database): the proxy is evicted, not served. */
  isRevoked(joinTokenId: string): boolean;
}

const HELLO_TIMEOUT_MS = 10_000;

/**
 * WebSocket close codes (4000-4999 are ours). A proxy stops on `revoked`, `forbidden` and `helloRefused` (joining
 * again the same way is refused again) and reconnects after the others: a `conflict` (a TCP port another live
 * service holds) may clear when that service goes, as may `tooManyStreams` (its join token holds the most
 * streams a replica allows) when one of them closes.
 */
export const CLOSE = {
  protocol: 4400,
  revoked: 4401,
  forbidden: 4403,
  helloTimeout: 4408,
  conflict: 4409,
  tooManyStreams: 4429,
  helloRefused: 4422,
} as const;

/** Refused telemetry is logged and told to the proxy at most this often per stream (a report is the unit). */
const TELEMETRY_COMPLAINT_MS = 10_000;
/** The shortest window the series budget of a stream is counted over (see `report`). */
const TELEMETRY_BUDGET_MIN_MS = 10_000;

/** The close reason of an evicted proxy (its join token was revoked); the proxy logs it and stops. */
export const REVOKED_REASON = "join token revoked";

export class ProxySession implements PushTarget {
  node: ProxyNode | null = null;
  /** What its config depends on (set with `node`). */
  group: ProxyGroup | null = null;
  workloadId: string | null = null;
  ready = false;
  sentVersion: string | null = null;
  sentNonce: string | null = null;
  ackedVersion: string | null = null;
  /** The last version this proxy refused, and why (it keeps serving `ackedVersion`). */
  nacked: { version: string; reason: string } | null = null;
  /** The last certificate issued on this stream (at hello or renewal): revoked with its proxy. */
  certificate: { serial: string; notAfter: Date; spiffeId: string } | null = null;
  /** The proxy applies deltas (said so in its hello). */
  deltas = false;
  private alive = true;
  /** The snapshot this proxy should have (its version is `sentVersion`); `pushWaiting` until it is written. */
  private target: Snapshot | null = null;
  private pushWaiting = false;
  /**
   * The version the proxy holds once it has read everything written to it (applied or refused: a refused
   * config is still the base of the next delta, as in xDS). Null when unknown: the next push is whole.
   */
  private writtenVersion: string | null = null;
  /** The snapshot of `writtenVersion`, when known: held (see `SessionDeps.hold`) for deltas against it. */
  private base: Snapshot | null = null;
  /** A message being written, and messages held back meanwhile. */
  private writing: Encoded | null = null;
  private queuedForPush = false;
  private heldBack: string[] = [];
  private queue: Promise<void> = Promise.resolve();
  private closed = false;
  private keepRegistration = false;
  private helloTimer: NodeJS.Timeout | null = null;
  /** Refused telemetry since the last complaint (see `report`). */
  private refusedSeries = 0;
  private reportedSeries = 0;
  private readonly refusedReasons = new Map<string, number>();
  private lastComplaint = 0;
  /** Series reported since `budgetSince` (see `report`). */
  private budgetSince = 0;
  private budgetUsed = 0;
  /** Certificate renewals this stream may still make (see renewal-limit.ts). */
  private renewals: RenewalLimit | null = null;
  private cleanedUp!: () => void;
  /** Settles when the stream has closed and its workload has been marked gone. */
  readonly finished = new Promise<void>((resolve) => (this.cleanedUp = resolve));

  constructor(
    private readonly ws: WebSocket,
    private readonly deps: SessionDeps,
  ) {}

  get joinTokenId(): string {
    return this.deps.scope.joinTokenId;
  }

  start(): void {
    this.helloTimer = setTimeout(
      () => this.fail(CLOSE.helloTimeout, "PROTOCOL", "no hello within 10 s"),
      HELLO_TIMEOUT_MS,
    );
    this.ws.on("pong", () => (this.alive = true));
    this.ws.on("message", (data, isBinary) => {
      if (isBinary) return this.fail(CLOSE.protocol, "PROTOCOL", "messages are JSON text");
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
   * Sends a snapshot unless this proxy already has that version (or has it coming). Returns whether it will
   * send. The write is paced by the replica's push queue; a newer snapshot replaces one still waiting, and what
   * is written (whole or delta) is decided when it is written, against what the proxy holds by then.
   */
  push(snap: Snapshot): boolean {
    if (!this.ready || this.closed || snap.version === this.sentVersion) return false;
    const first = this.sentVersion === null;
    this.sentVersion = snap.version;
    this.sentNonce = snap.nonce;
    this.target = snap;
    this.schedule(first);
    return true;
  }

  private schedule(urgent: boolean): void {
    this.pushWaiting = true;
    if (!this.queuedForPush && this.writing === null) {
      this.queuedForPush = true;
      this.deps.pushes.enqueue(this, urgent);
    }
  }

  /** Called by the push queue: writes the waiting snapshot as one text message, fragment by fragment. */
  writePending(done: () => void): void {
    this.queuedForPush = false;
    const snap = this.target;
    if (!this.pushWaiting || snap === null || this.closed) return done();
    this.pushWaiting = false;
    const msg = this.deps.encode(snap, this.base);
    this.writing = msg;
    this.writtenVersion = snap.version;
    this.setBase(this.deltas ? snap : null);
    this.deps.onWritten(msg);
    const chunks = msg.chunks;
    let i = 0;
    const next = (err?: Error | null): void => {
      if (err || this.closed) return this.endWrite(done);
      if (i === chunks.length) return this.endWrite(done);
      const chunk = chunks[i++]!;
      this.ws.send(chunk, { binary: false, fin: i === chunks.length }, next);
    };
    next();
  }

  private setBase(snap: Snapshot | null): void {
    if (snap !== null) this.deps.hold(snap);
    if (this.base !== null) this.deps.release(this.base);
    this.base = snap;
  }

  private endWrite(done: () => void): void {
    this.writing = null;
    // Messages held back while the fragments went out (nothing may come between them).
    for (const m of this.heldBack.splice(0)) if (!this.closed) this.ws.send(m);
    if (this.pushWaiting && !this.closed) {
      this.queuedForPush = true;
      this.deps.pushes.enqueue(this);
    }
    done();
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
    return this.node
      ? `${this.node.namespace}/${this.node.service}/${this.node.version}@${this.node.address}`
      : "(before hello)";
  }

  private send(msg: object): void {
    if (this.closed) return;
    if (this.writing !== null) this.heldBack.push(JSON.stringify(msg));
    else this.ws.send(JSON.stringify(msg));
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
      return this.fail(CLOSE.protocol, "PROTOCOL", "invalid JSON");
    }
    const parsed = ZProxyMessage.safeParse(raw);
    if (!parsed.success) {
      const i = parsed.error.issues[0];
      const where = `${i?.path.join(".") ?? ""} ${i?.message ?? ""}`.trim();
      // A hello names what the proxy wants to be; one that breaks a bound is refused for good (the proxy stops:
      // the same flags would be refused again), with the field that broke it.
      if ((raw as { type?: unknown } | null)?.type === "hello" && !this.ready)
        return this.fail(
          CLOSE.helloRefused,
          "HELLO_INVALID",
          `${i?.path.join(".") ?? ""}: ${innerMessage(i)}`,
        );
      return this.fail(CLOSE.protocol, "PROTOCOL", `invalid message: ${where}`);
    }
    const msg: ProxyMessage = parsed.data;
    if (!this.ready && msg.type !== "hello")
      return this.fail(CLOSE.protocol, "PROTOCOL", "the first message must be hello");
    switch (msg.type) {
      case "hello":
        return this.hello(msg);
      case "ack":
        return this.ack(msg.version, msg.nonce);
      case "nack":
        return this.nack(msg.version, msg.nonce, msg.error);
      case "resync":
        return this.resync(msg.version, msg.reason);
      case "csr":
        return this.renew(msg.csr);
      case "telemetry":
        return this.report(msg.series, msg.access ?? []);
    }
  }

  private async hello(msg: Extract<ProxyMessage, { type: "hello" }>): Promise<void> {
    if (this.ready) return this.fail(CLOSE.protocol, "PROTOCOL", "hello was already received");
    if (this.helloTimer) clearTimeout(this.helloTimer);
    const { node } = msg;
    const { scope } = this.deps;
    if (node.namespace !== scope.namespace || (scope.service !== null && node.service !== scope.service)) {
      const allowed = scope.service ? `${scope.namespace}/${scope.service}` : `namespace ${scope.namespace}`;
      return this.fail(
        CLOSE.forbidden,
        "FORBIDDEN",
        `this join token allows ${allowed}, not ${node.namespace}/${node.service}`,
      );
    }
    const spiffe = spiffeId(this.deps.trustDomain, node.namespace, node.service);
    let cert;
    try {
      cert = await this.deps.ca.signWorkload(msg.csr, spiffe, this.deps.certTtlMs);
    } catch (e) {
      if (e instanceof CaError) return this.fail(CLOSE.protocol, e.code, e.message);
      throw e;
    }
    let id: string;
    try {
      ({ id } = await registerWorkload(this.deps.db, {
        node,
        identity: spiffe,
        ...(msg.workloadId ? { workloadId: msg.workloadId } : {}),
        joinTokenId: scope.joinTokenId,
        replicaId: this.deps.replicaId,
        certificate: cert,
      }));
    } catch (e) {
      // Its TCP port is another live service's (or not its service's): refused, nothing registered.
      if (e instanceof TcpPortError) {
        this.deps.log(
          `control plane: proxy ${node.namespace}/${node.service}/${node.version}@${node.address} refused: ${e.code}: ${e.message}`,
        );
        return this.fail(CLOSE.conflict, e.code, e.message);
      }
      throw e;
    }
    this.certificate = { serial: cert.serial, notAfter: cert.notAfter, spiffeId: spiffe };
    // Recorded before the proxy has it: revoking the token revokes every certificate issued under it.
    await recordIssued(this.deps.db, this.certificate, id, scope.joinTokenId);
    if (this.closed) return void (await disconnectWorkload(this.deps.db, id));
    if (this.deps.isRevoked(scope.joinTokenId)) {
      // Revoked while this proxy joined: the revocation may have missed this workload and certificate.
      this.workloadId = id;
      await revokeCertificates(this.deps.db, [this]);
      return this.fail(CLOSE.revoked, "FORBIDDEN", REVOKED_REASON);
    }
    this.node = node;
    this.group = groupOf(node);
    this.workloadId = id;
    this.send({
      type: "welcome",
      workloadId: id,
      certificate: {
        certPem: cert.certPem,
        caPem: this.deps.ca.certPem,
        spiffeId: spiffe,
        notAfter: cert.notAfter.toISOString(),
        serial: cert.serial,
      },
      telemetryIntervalMs: this.deps.telemetryIntervalMs,
    });
    this.deltas = msg.features?.includes(STREAM_FEATURES.delta) ?? false;
    if (msg.appliedVersion) {
      // It serves this version already (reconnect): do not send it again, and send changes against it.
      this.sentVersion = msg.appliedVersion;
      this.ackedVersion = msg.appliedVersion;
      this.writtenVersion = msg.appliedVersion;
      if (this.deltas) this.setBase(this.deps.lookup(msg.appliedVersion));
    }
    this.ready = true;
    this.deps.onReady(this);
    const snap = this.deps.snapshotFor(this.group);
    if (snap && this.push(snap)) this.deps.onPushed();
  }

  private async ack(version: string, nonce: string): Promise<void> {
    // Only the answer to the latest push counts; a late answer to an older one is ignored (as in xDS).
    if (version !== this.sentVersion || nonce !== this.sentNonce) return;
    this.ackedVersion = version;
    // Batched with other proxies' answers: the workload row and the rollout row, in one write.
    await this.deps.rollout.ack(this.workloadId!, version);
  }

  private async nack(version: string, nonce: string, error: string): Promise<void> {
    if (version !== this.sentVersion || nonce !== this.sentNonce) return;
    this.nacked = { version, reason: error };
    this.deps.log(`control plane: proxy ${this.describe()} refused config ${version}: ${error}`);
    await this.deps.rollout.nack(this.workloadId!, version, error);
  }

  /**
   * The proxy could not apply a delta: it holds something else than we thought. Send the whole snapshot.
   * An answer about an older message is ignored: what was written after it settles the matter (a whole
   * config is applied; a delta on top of the failed one fails too and brings its own resync).
   */
  private resync(version: string, reason: string): void {
    if (version !== this.writtenVersion || this.target === null) return;
    this.deps.log(`control plane: proxy ${this.describe()} asked for a whole config: ${reason}`);
    this.writtenVersion = null;
    this.setBase(null);
    this.schedule(true);
  }

  private async renew(csr: string): Promise<void> {
    // An evicted proxy's stream is closing: it gets no new certificate.
    if (this.closed || this.deps.isRevoked(this.deps.scope.joinTokenId))
      return this.fail(CLOSE.revoked, "FORBIDDEN", REVOKED_REASON);
    this.renewals ??= new RenewalLimit(this.deps.certTtlMs);
    const wait = this.renewals.take();
    if (wait > 0)
      return this.send({
        type: "error",
        code: RENEWAL_LIMITED_CODE,
        message: `too many certificate renewals on this stream; the next is allowed in ${Math.ceil(wait / 1000)} s`,
      });
    const node = this.node!;
    const spiffe = spiffeId(this.deps.trustDomain, node.namespace, node.service);
    try {
      const cert = await this.deps.ca.signWorkload(csr, spiffe, this.deps.certTtlMs);
      const issued = { serial: cert.serial, notAfter: cert.notAfter, spiffeId: spiffe };
      await recordIssued(this.deps.db, issued, this.workloadId!, this.deps.scope.joinTokenId);
      await this.deps.db.workload.update({
        where: { id: this.workloadId! },
        data: { certificateSerial: cert.serial, certificateExpires: cert.notAfter },
      });
      this.certificate = issued;
      if (this.deps.isRevoked(this.deps.scope.joinTokenId)) {
        // Revoked while it was signed: the eviction may have listed the previous certificate only.
        await revokeCertificates(this.deps.db, [this]);
        return this.fail(CLOSE.revoked, "FORBIDDEN", REVOKED_REASON);
      }
      this.send({
        type: "certificate",
        certificate: {
          certPem: cert.certPem,
          caPem: this.deps.ca.certPem,
          spiffeId: spiffe,
          notAfter: cert.notAfter.toISOString(),
          serial: cert.serial,
        },
      });
    } catch (e) {
      if (e instanceof CaError) return this.send({ type: "error", code: e.code, message: e.message });
      throw e;
    }
  }

  /**
   * Stores the series this proxy took part in (see `screenReport`). The rest are counted, logged and told to
   * the proxy, at most once per `TELEMETRY_COMPLAINT_MS`; the stream stays up.
   */
  private report(series: readonly unknown[], access: readonly unknown[]): void {
    const me = this.node!;
    // The config it was sent last, and the one in force for its group now (the same, unless a push is on its
    // way): a report covers calls made under either.
    const sent = this.target;
    const current = this.deps.snapshotFor(this.group!);
    const carries = (ns: string, name: string) =>
      (sent !== null && carriesService(sent, ns, name)) ||
      (current !== null && carriesService(current, ns, name));
    // A proxy reports once per interval: more series than two full reports per interval (per 10 s when the
    // interval is shorter) is not telemetry but a flood (each distinct series is a row in PostgreSQL).
    const now = Date.now();
    if (now - this.budgetSince >= Math.max(this.deps.telemetryIntervalMs, TELEMETRY_BUDGET_MIN_MS)) {
      this.budgetSince = now;
      this.budgetUsed = 0;
    }
    // Access observations are rows too: they count against the same budget.
    this.budgetUsed += series.length + access.length;
    const over = this.budgetUsed > 2 * TELEMETRY_LIMITS.seriesPerReport;
    const known = (ns: string, name: string) => this.deps.knownService(ns, name);
    const {
      accepted,
      reasons,
      refused: refusedSeries,
    } = over
      ? {
          accepted: [],
          reasons: new Map([
            [`over ${2 * TELEMETRY_LIMITS.seriesPerReport} series per reporting interval`, series.length],
          ]),
          refused: series.length,
        }
      : screenReport(series, me, carries, known);
    const observed =
      access.length === 0
        ? { accepted: [], reasons: new Map<string, number>(), refused: 0 }
        : over
          ? {
              accepted: [],
              reasons: new Map([
                [`over ${2 * TELEMETRY_LIMITS.seriesPerReport} series per reporting interval`, access.length],
              ]),
              refused: access.length,
            }
          : screenAccess(access, me, known);
    for (const [r, n] of observed.reasons) reasons.set(r, (reasons.get(r) ?? 0) + n);
    const refused = refusedSeries + observed.refused;
    this.reportedSeries += series.length + access.length;
    if (refused > 0) {
      this.deps.telemetry.countRefused(refused);
      this.refusedSeries += refused;
      for (const [r, n] of reasons) this.refusedReasons.set(r, (this.refusedReasons.get(r) ?? 0) + n);
      if (now - this.lastComplaint >= TELEMETRY_COMPLAINT_MS) this.complain();
    }
    this.deps.telemetry.add(accepted);
    if (observed.accepted.length > 0) this.deps.telemetry.addAccess(observed.accepted);
  }

  private complain(): void {
    this.lastComplaint = Date.now();
    const what = `${this.refusedSeries} of ${this.reportedSeries} series refused: ${describeReasons(this.refusedReasons)}`;
    this.deps.log(
      `control plane: proxy ${this.describe()} dropped ${this.refusedSeries} series: ${describeReasons(this.refusedReasons)}`,
    );
    this.send({ type: "error", code: "TELEMETRY_REJECTED", message: what.slice(0, 2_000) });
    this.refusedSeries = 0;
    this.reportedSeries = 0;
    this.refusedReasons.clear();
  }

  private async onClosed(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    if (this.helloTimer) clearTimeout(this.helloTimer);
    const wasReady = this.ready;
    this.ready = false;
    this.setBase(null);
    await this.queue.catch(() => {});
    if (this.workloadId && !this.keepRegistration)
      await disconnectWorkload(this.deps.db, this.workloadId).catch(() => {});
    this.deps.onClose(this, wasReady);
    this.cleanedUp();
  }
}

/** A zod issue's message; for a record key, the key schema's own (zod says only "Invalid key in record"). */
function innerMessage(i: { message: string; issues?: readonly { message: string }[] } | undefined): string {
  return i?.issues?.[0]?.message ?? i?.message ?? "";
}

/**
 * Adds the certificates last issued on these streams to the revocation list (the revocation itself listed the
 * ones recorded on their workloads; a renewal or a join racing with it may have issued another).
 */
export async function revokeCertificates(db: Db, sessions: readonly ProxySession[]): Promise<void> {
  const data = sessions.flatMap((s) =>
    s.certificate
      ? [
          {
            serial: s.certificate.serial,
            expiresAt: s.certificate.notAfter,
            spiffeId: s.certificate.spiffeId,
            workloadId: s.workloadId,
            joinTokenId: s.joinTokenId,
          },
        ]
      : [],
  );
  if (data.length > 0) await db.revokedCertificate.createMany({ data, skipDuplicates: true });
}

function recordIssued(
  db: Db,
  cert: { serial: string; notAfter: Date; spiffeId: string },
  workloadId: string,
  joinTokenId: string,
): Promise<unknown> {
  return db.issuedCertificate.create({
    data: { serial: cert.serial, expiresAt: cert.notAfter, spiffeId: cert.spiffeId, workloadId, joinTokenId },
  });
}
