// Per config generation, per proxy: pending → acked / nacked (with the proxy's reason). This is what lets a
// change request say "applied on 37/37 proxies" or "NACKed by 2: <reason>".
//
// Writes are batched: a generation's rows are one INSERT, and the answers of many proxies one UPDATE. A change
// that reaches 5,000 proxies brings 5,000 ACKs within a second; a statement (and a Prisma query compile) per
// ACK kept the control plane busy for seconds, delaying the pushes to the proxies still waiting for theirs.
import { Prisma, type Db } from "@trellis/db";
import { LOCK_ORDER } from "./registry.js";

export interface RolloutEntry {
  workloadId: string;
  version: string;
  state: "pending" | "acked" | "nacked";
  reason?: string;
}

/** A proxy's answer to a push. */
export interface Answer {
  workloadId: string;
  version: string;
  state: "acked" | "nacked";
  reason?: string;
}

export class Rollout {
  /** Answers waiting for the next write, and who waits for it. */
  private queued: { answer: Answer; done: () => void; failed: (e: unknown) => void }[] = [];
  private writing = false;
  /** Generation rows being inserted: answers are written after them, so each finds the row it settles. */
  private recording: Promise<unknown> = Promise.resolve();

  constructor(
    private readonly db: Db,
    private readonly log: (l: string) => void,
  ) {}

  recordGeneration(number: number, entries: RolloutEntry[]): Promise<void> {
    const p = this.insert(number, entries);
    this.recording = Promise.all([this.recording, p]).catch(() => {});
    return p;
  }

  private async insert(number: number, entries: RolloutEntry[]): Promise<void> {
    if (entries.length === 0) return;
    // One statement for all rows, whatever their number (arrays, not one parameter per value: PostgreSQL
    // allows 65,535 parameters per statement, 10,000 proxies × 5 columns would not fit).
    const r = await this.db.$executeRaw`
      INSERT INTO "ProxyConfigStatus" (id, "generationId", "workloadId", version, state, reason, "updatedAt")
      SELECT gen_random_uuid()::text, g.id, e.w, e.v, e.s::"RolloutState", e.r, now() AT TIME ZONE 'UTC'
      FROM "ConfigGeneration" g,
           unnest(${entries.map((e) => e.workloadId)}::text[], ${entries.map((e) => e.version)}::text[],
                  ${entries.map((e) => e.state)}::text[], ${entries.map((e) => e.reason ?? null)}::text[]) AS e(w, v, s, r)
      WHERE g.number = ${number}
      ON CONFLICT ("generationId", "workloadId") DO NOTHING`;
    if (r === 0 && !(await this.db.configGeneration.findUnique({ where: { number } })))
      this.log(`control plane: config generation ${number} does not exist; not tracking it`);
  }

  /**
   * Records a proxy's answer: on its workload (the version it applied, or refused and why) and on the rollout
   * row of that version, if still pending. Resolves when written; answers arriving meanwhile are written
   * together by the next statement.
   */
  answer(a: Answer): Promise<void> {
    return new Promise((done, failed) => {
      this.queued.push({ answer: a, done, failed });
      if (!this.writing) {
        this.writing = true;
        setImmediate(() => void this.drain());
      }
    });
  }

  ack(workloadId: string, version: string): Promise<void> {
    return this.answer({ workloadId, version, state: "acked" });
  }

  nack(workloadId: string, version: string, reason: string): Promise<void> {
    return this.answer({ workloadId, version, state: "nacked", reason });
  }

  private async drain(): Promise<void> {
    while (this.queued.length > 0) {
      await this.recording;
      const batch = this.queued;
      this.queued = [];
      try {
        await retryConflicts(() => this.write(batch.map((q) => q.answer)));
        for (const q of batch) q.done();
      } catch (e) {
        for (const q of batch) q.failed(e);
      }
    }
    this.writing = false;
  }

  private async write(answers: Answer[]): Promise<void> {
    // The last answer of each workload wins on the workload row; each (workload, version) once.
    const last = new Map<string, Answer>();
    for (const a of answers) {
      last.delete(a.workloadId); // re-insert: Map order is the order of the last answers
      last.set(a.workloadId, a);
    }
    const byVersion = new Map<string, Answer>();
    for (const a of answers) byVersion.set(`${a.workloadId}\0${a.version}`, a);
    const byId = (a: Answer, b: Answer) =>
      a.workloadId < b.workloadId ? -1 : a.workloadId > b.workloadId ? 1 : 0;
    const w = [...last.values()].sort(byId);
    const s = [...byVersion.values()].sort(byId);
    await this.db.$executeRaw`
      WITH a AS (
        SELECT * FROM unnest(${w.map((x) => x.workloadId)}::text[], ${w.map((x) => x.version)}::text[],
                             ${w.map((x) => x.state)}::text[], ${w.map((x) => x.reason ?? null)}::text[]) AS a(w, v, s, r)
      ), locked AS (
        SELECT id FROM "Workload" WHERE id = ANY(${w.map((x) => x.workloadId)}::text[]) ${Prisma.raw(LOCK_ORDER)}
      )
      UPDATE "Workload" wl SET
        "ackedVersion" = CASE WHEN a.s = 'acked' THEN a.v ELSE wl."ackedVersion" END,
        "lastSeenAt" = CASE WHEN a.s = 'acked' THEN now() AT TIME ZONE 'UTC' ELSE wl."lastSeenAt" END,
        "nackedVersion" = CASE WHEN a.s = 'nacked' THEN a.v ELSE wl."nackedVersion" END,
        "nackReason" = CASE WHEN a.s = 'nacked' THEN a.r ELSE wl."nackReason" END
      FROM a JOIN locked l ON l.id = a.w WHERE wl.id = l.id`;
    await this.db.$executeRaw`
      WITH a AS (
        SELECT * FROM unnest(${s.map((x) => x.workloadId)}::text[], ${s.map((x) => x.version)}::text[],
                             ${s.map((x) => x.state)}::text[], ${s.map((x) => x.reason ?? null)}::text[]) AS a(w, v, s, r)
      )
      UPDATE "ProxyConfigStatus" ps SET
        state = a.s::"RolloutState",
        reason = CASE WHEN a.s = 'nacked' THEN a.r ELSE ps.reason END,
        "updatedAt" = now() AT TIME ZONE 'UTC'
      FROM a WHERE ps."workloadId" = a.w AND ps.version = a.v AND ps.state = 'pending'`;
  }
}

/**
 * Runs a multi-row write again when PostgreSQL picked it as a deadlock victim (or a serialization failure).
 * The multi-row updates of workloads take their rows in one order (registry.ts, LOCK_ORDER) and no longer
 * deadlock each other; a replica of an older version during a rolling upgrade still may. The loser is rolled
 * back whole, so running it again is safe.
 */
async function retryConflicts<T>(fn: () => Promise<T>, attempts = 5): Promise<T> {
  for (let i = 1; ; i++) {
    try {
      return await fn();
    } catch (e) {
      if (i >= attempts || !isConflict(e)) throw e;
      await new Promise((r) => setTimeout(r, 10 * i + Math.random() * 20 * i));
    }
  }
}

function isConflict(e: unknown): boolean {
  const err = e as { code?: unknown; meta?: { code?: unknown }; message?: unknown } | null;
  const code = err?.meta?.code ?? err?.code;
  if (code === "40P01" || code === "40001") return true;
  return typeof err?.message === "string" && /\b(40P01|40001)\b/.test(err.message);
}
