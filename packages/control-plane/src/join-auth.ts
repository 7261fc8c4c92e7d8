// Who is opening a stream: the join token in the upgrade request, checked against this mesh's CA and the
// database. A string is the reason for a 401, worded for the proxy's log.
import type { IncomingMessage } from "node:http";
import { parseJoinToken } from "@trellis/contracts";
import { hashToken, type Db } from "@trellis/db";
import type { JoinScope } from "./session.js";

export type Authenticate = (req: IncomingMessage) => Promise<JoinScope | string>;

interface JoinTokenRow {
  id: string;
  namespace: string;
  service: string | null;
  revokedAt: Date | null;
  expiresAt: Date | null;
}

export function joinTokenAuth(db: Db, caFingerprint: string): Authenticate {
  return async (req) => {
    const m = /^Bearer\s+(\S+)$/i.exec(req.headers.authorization ?? "");
    if (!m) return "a join token is required (Authorization: Bearer <token>)";
    const token = parseJoinToken(m[1]!);
    if (!token) return "the join token is malformed";
    if (token.caFingerprint !== caFingerprint) return "the join token was issued for another mesh CA";
    // Raw SQL: every stream of a join storm asks (a Prisma model query costs ~5x the CPU, see registry.ts).
    const [row] = await db.$queryRaw<JoinTokenRow[]>`
      SELECT id, namespace, service, "revokedAt", "expiresAt" FROM "JoinToken"
      WHERE "tokenHash" = ${hashToken(token.secret)}`;
    if (!row || row.revokedAt || (row.expiresAt && row.expiresAt <= new Date()))
      return "the join token is invalid, expired or revoked";
    return { joinTokenId: row.id, namespace: row.namespace, service: row.service };
  };
}
