// Console sessions, kept on the server. The browser's session cookie (a next-auth JWT, signed and encrypted)
// only carries a random session id; a session is alive while its row here is, so ending it here ends it
// for every copy of the cookie. Rows end at sign-out (that session), and for all of a user's sessions when
// the user is disabled, their password is reset or their role bindings change (role-bindings.ts,
// users-admin.ts). A disabled user's rows are gone, so enabling them again revives nothing.
//
// Two lifetimes: an absolute one fixed at sign-in that nothing extends, and an idle one that each request
// with the session (page, tRPC call, /api/auth/session) renews, never past the absolute end.
import { createHash, randomBytes } from "node:crypto";
import type { Db } from "@trellis/db";
import type { Via } from "./actor.js";
import { audit } from "./audit.js";

type Tx = Parameters<Parameters<Db["$transaction"]>[0]>[0];

export interface SessionLifetimes {
  /** From sign-in to the session's end, whatever happens in between. */
  absoluteMs: number;
  /** How long the session survives without a request. */
  idleMs: number;
}

export interface ConsoleSessionState {
  userId: string;
  /** When the session ends if nothing else happens: the idle end, or the absolute end if that comes first. */
  endsAt: Date;
  /** The absolute end. */
  expiresAt: Date;
}

/** The row's key: a hash, so reading the table yields no session id (the cookie would need the secret too). */
const rowId = (sid: string) => createHash("sha256").update(sid).digest("base64url");

/**
 * How stale lastSeenAt may be before a request writes it again: a write per request would cost more than the
 * idle end's precision is worth. A quarter of the idle lifetime, at most 30 s, so the session never ends
 * more than that much before its idle lifetime has passed.
 */
const touchAfterMs = (l: SessionLifetimes) => Math.min(30_000, l.idleMs / 4);

/**
 * Records a new session of `userId` and returns its id (for the cookie) and absolute end. Also drops rows that
 * have ended, so the table holds about the live sessions only.
 */
export async function startConsoleSession(
  db: Db,
  userId: string,
  lifetimes: SessionLifetimes,
  meta: { ip?: string; userAgent?: string } = {},
  now = new Date(),
): Promise<{ sid: string; expiresAt: Date }> {
  const sid = randomBytes(32).toString("base64url");
  const expiresAt = new Date(now.getTime() + lifetimes.absoluteMs);
  await db.consoleSession.deleteMany({
    where: {
      OR: [
        { expiresAt: { lte: now } },
        { userId, lastSeenAt: { lte: new Date(now.getTime() - lifetimes.idleMs) } },
      ],
    },
  });
  await db.consoleSession.create({
    data: {
      id: rowId(sid),
      userId,
      createdAt: now,
      lastSeenAt: now,
      expiresAt,
      ip: meta.ip ?? null,
      userAgent: meta.userAgent?.slice(0, 512) ?? null,
    },
  });
  return { sid, expiresAt };
}

/**
 * The session `sid` if it is alive: its row exists, neither lifetime has passed and its user exists and is
 * enabled. Renews the idle lifetime (to within touchAfterMs). An ended session's row is deleted.
 */
export async function currentConsoleSession(
  db: Db,
  sid: unknown,
  lifetimes: SessionLifetimes,
  now = new Date(),
): Promise<ConsoleSessionState | null> {
  if (typeof sid !== "string" || sid === "") return null;
  const id = rowId(sid);
  const row = await db.consoleSession.findUnique({
    where: { id },
    include: { user: { select: { disabled: true } } },
  });
  if (!row) return null;
  const t = now.getTime();
  if (row.user.disabled || t >= row.expiresAt.getTime() || t >= row.lastSeenAt.getTime() + lifetimes.idleMs) {
    await db.consoleSession.deleteMany({ where: { id } });
    return null;
  }
  let lastSeen = row.lastSeenAt.getTime();
  if (t - lastSeen >= touchAfterMs(lifetimes)) {
    // Conditional, so concurrent requests never move it backwards.
    await db.consoleSession.updateMany({ where: { id, lastSeenAt: { lt: now } }, data: { lastSeenAt: now } });
    lastSeen = t;
  }
  return {
    userId: row.userId,
    expiresAt: row.expiresAt,
    endsAt: new Date(Math.min(row.expiresAt.getTime(), lastSeen + lifetimes.idleMs)),
  };
}

/** Sign-out: ends the session `sid` (if it still stands) and records who signed out. */
export async function endConsoleSession(
  db: Db,
  sid: unknown,
  meta: { via: Via; ip?: string; userAgent?: string },
): Promise<boolean> {
  if (typeof sid !== "string" || sid === "") return false;
  const row = await db.consoleSession.findUnique({
    where: { id: rowId(sid) },
    include: { user: { select: { name: true } } },
  });
  if (!row) return false;
  await db.consoleSession.deleteMany({ where: { id: row.id } });
  await audit(
    db,
    { kind: "user", userId: row.userId, name: row.user.name, bindings: [], ...meta },
    { action: "user.signOut", targetKind: "User", targetId: row.userId },
  );
  return true;
}

/** Ends every console session of `userId`; returns how many were live (or at least not yet cleaned up). */
export async function endUserConsoleSessions(db: Db | Tx, userId: string): Promise<number> {
  const { count } = await db.consoleSession.deleteMany({ where: { userId } });
  return count;
}
