// A password sign-in that returns an API token: how a user gets a first token without the console
// (`trellis token create --user NAME --password-stdin`). Same checks and audit as the console's sign-in.
import type { Role } from "@trellis/contracts";
import type { Db } from "@trellis/db";
import type { Via } from "./actor.js";
import { verifyCredentialsLimited } from "./password-sign-in.js";
import { SignInLimiter } from "./sign-in-limiter.js";
import { createApiToken, type CreatedApiToken } from "./tokens.js";
import { actorForUser } from "./users.js";

/**
 * Failed attempts are counted per user name only, as the console's are (see password-sign-in.ts): the address
 * comes from a header anyone can set. Its own count, so holding a name's CLI sign-in shut leaves the
 * console's alone, and the other way round.
 */
export const tokenSignInLimiter = new SignInLimiter();

export async function createApiTokenWithPassword(
  db: Db,
  input: {
    user: string;
    password: string;
    name: string;
    role?: Role;
    namespace?: string;
    expiresAt?: Date;
  },
  meta: { via: Via; ip?: string; userAgent?: string },
  limiter: SignInLimiter = tokenSignInLimiter,
): Promise<CreatedApiToken> {
  const { id: userId } = await verifyCredentialsLimited(
    db,
    { name: input.user, password: input.password },
    meta,
    { byName: limiter },
  );
  const actor = await actorForUser(db, userId, meta);
  return createApiToken(db, actor, {
    name: input.name,
    ...(input.role ? { role: input.role } : {}),
    ...(input.namespace ? { namespace: input.namespace } : {}),
    ...(input.expiresAt ? { expiresAt: input.expiresAt } : {}),
  });
}
