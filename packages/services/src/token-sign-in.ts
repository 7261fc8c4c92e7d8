// A password sign-in that returns an API token: how a user gets a first token without the console
// (`trellis token create --user NAME --password-stdin`). Same checks and audit as the console's sign-in.
import type { Role } from "@trellis/contracts";
import type { Db } from "@trellis/db";
import type { Via } from "./actor.js";
import { AppError } from "./errors.js";
import { SignInLimiter } from "./sign-in-limiter.js";
import { createApiToken, type CreatedApiToken } from "./tokens.js";
import { actorForUser, verifyCredentials } from "./users.js";

/**
 * Failed attempts are counted per user name only, not per client address: this path has no browser in front
 * of it and the address comes from a header anyone can set, so a per-address key would let one client guess
 * forever. The price: someone can hold a name's CLI sign-in shut for the window (the console is unaffected).
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
  const key = input.user.toLowerCase();
  if (!limiter.allow(key))
    throw new AppError("AUTH_RATE_LIMITED", "too many failed sign-ins for this user; try again later");
  let userId: string;
  try {
    userId = (await verifyCredentials(db, { name: input.user, password: input.password }, meta)).id;
  } catch (e) {
    if (e instanceof AppError && e.code === "AUTH_INVALID_CREDENTIALS") limiter.failed(key);
    throw e;
  }
  limiter.succeeded(key);
  const actor = await actorForUser(db, userId, meta);
  return createApiToken(db, actor, {
    name: input.name,
    ...(input.role ? { role: input.role } : {}),
    ...(input.namespace ? { namespace: input.namespace } : {}),
    ...(input.expiresAt ? { expiresAt: input.expiresAt } : {}),
  });
}
