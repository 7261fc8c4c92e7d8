// Password sign-in with a limit on failed attempts, for the console (next-auth's credentials provider) and
// for `POST /tokens/sign-in` (token-sign-in.ts). Same checks and audit as verifyCredentials.
import { ZUserName } from "@trellis/contracts";
import type { Db } from "@trellis/db";
import type { Via } from "./actor.js";
import { audit } from "./audit.js";
import { AppError } from "./errors.js";
import { SignInLimiter } from "./sign-in-limiter.js";
import { verifyCredentials, type SignedInUser } from "./users.js";

export interface SignInLimits {
  /** Failures per user name (case folded), whatever address they come from. */
  byName: SignInLimiter;
  /** Failures per client address, across names; counted only for an address a trusted proxy reported. */
  byAddress?: SignInLimiter;
}

/**
 * The console's limits. Failures are counted per user name, always: the address the console sees comes from
 * X-Forwarded-For, which any client can write, so a count keyed on it is one a client resets by sending a new
 * value with every guess. Behind reverse proxies the operator trusts (TRELLIS_TRUST_PROXY) the address they
 * report is counted as well, across names, so one client cannot try a password on name after name; its limit
 * is higher because many people can share one address. The price of the per-name count: anyone can hold a
 * name's password sign-in shut for the window (single sign-on and open sessions are unaffected).
 * In memory, per console process.
 */
export const consoleSignInLimits: SignInLimits = {
  byName: new SignInLimiter(10),
  byAddress: new SignInLimiter(50),
};

/**
 * verifyCredentials, refused with AUTH_RATE_LIMITED (before the password is even checked) once the name, or
 * the trusted client address, has had too many failures in the window. Refusals are audited as
 * `user.signIn.rateLimited` (once a minute per name or address; never the password).
 */
export async function verifyCredentialsLimited(
  db: Db,
  input: { name: string; password: string },
  meta: { via: Via; ip?: string; userAgent?: string },
  limits: SignInLimits,
  trustedAddress?: string,
): Promise<SignedInUser> {
  const name = input.name.toLowerCase();
  const byAddress = trustedAddress !== undefined ? limits.byAddress : undefined;
  const shutBy = !limits.byName.allow(name)
    ? "name"
    : byAddress && !byAddress.allow(trustedAddress!)
      ? "address"
      : null;
  if (shutBy !== null) {
    const record =
      shutBy === "name"
        ? limits.byName.shouldRecordRefusal(name)
        : byAddress!.shouldRecordRefusal(trustedAddress!);
    if (record) await auditRefusal(db, input.name, shutBy, meta);
    throw new AppError("AUTH_RATE_LIMITED", "too many failed sign-ins; try again later");
  }
  try {
    const user = await verifyCredentials(db, input, meta);
    // Only the name's count is cleared: a client with one good account must not wipe its address's count
    // by signing in with it between guesses at other names.
    limits.byName.succeeded(name);
    return user;
  } catch (e) {
    if (e instanceof AppError && e.code === "AUTH_INVALID_CREDENTIALS") {
      limits.byName.failed(name);
      byAddress?.failed(trustedAddress!);
    }
    throw e;
  }
}

/**
 * A refused sign-in, in the audit log: by the user it was for when that user exists (as a failed sign-in is),
 * else by the name tried when it is a valid user name. The address is the trusted one or none (see meta).
 */
async function auditRefusal(
  db: Db,
  triedName: string,
  limit: "name" | "address",
  meta: { via: Via; ip?: string; userAgent?: string },
): Promise<void> {
  const valid = ZUserName.safeParse(triedName).success;
  const user = valid
    ? await db.user.findUnique({ where: { name: triedName }, select: { id: true, name: true } })
    : null;
  await audit(
    db,
    {
      kind: "user",
      userId: user?.id ?? null,
      name: user?.name ?? (valid ? triedName : "(invalid user name)"),
      bindings: [],
      via: meta.via,
      ...(meta.ip ? { ip: meta.ip } : {}),
      ...(meta.userAgent ? { userAgent: meta.userAgent } : {}),
    },
    {
      action: "user.signIn.rateLimited",
      targetKind: "User",
      ...(user ? { targetId: user.id } : {}),
      details: { limit, userExists: user !== null },
    },
  );
}
