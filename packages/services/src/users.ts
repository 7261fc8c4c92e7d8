import { randomBytes } from "node:crypto";
import { ALL_NAMESPACES, ZPassword, ZUserName, type RoleBinding } from "@trellis/contracts";
import type { Db } from "@trellis/db";
import { SYSTEM_ACTOR, type Actor, type Via } from "./actor.js";
import { audit } from "./audit.js";
import { AppError } from "./errors.js";
import { dummyVerify, hashPassword, passwordNeedsRehash, verifyPassword } from "./passwords.js";
import { createApiToken, hashToken } from "./tokens.js";

export const BOOTSTRAP_ADMIN_NAME = "admin";

export interface BootstrapResult {
  /** Set when this call created the admin user. */
  adminCreated: boolean;
  /** Set only when the password was generated here: print it once, it is not stored anywhere readable. */
  generatedPassword?: string;
  /** Whether the bootstrap API token was created by this call. */
  tokenCreated: boolean;
}

/**
 * First start: creates the `admin` user when there are no users, with `adminPassword` or a generated one,
 * and, when `bootstrapToken` is given, an admin API token with exactly that value (created once).
 */
export async function bootstrap(
  db: Db,
  opts: { adminPassword?: string; bootstrapToken?: string },
): Promise<BootstrapResult> {
  const result: BootstrapResult = { adminCreated: false, tokenCreated: false };
  if (opts.adminPassword !== undefined) {
    const p = ZPassword.safeParse(opts.adminPassword);
    if (!p.success)
      throw new AppError("VALIDATION_FAILED", `TRELLIS_ADMIN_PASSWORD ${p.error.issues[0]?.message}`);
  }
  let admin = await db.user.findUnique({ where: { name: BOOTSTRAP_ADMIN_NAME } });
  if ((await db.user.count()) === 0) {
    const password = opts.adminPassword ?? randomBytes(18).toString("base64url");
    admin = await db.user.create({
      data: {
        name: BOOTSTRAP_ADMIN_NAME,
        displayName: "Administrator",
        passwordHash: await hashPassword(password),
        roleBindings: { create: { role: "admin", namespace: ALL_NAMESPACES } },
      },
    });
    await audit(db, SYSTEM_ACTOR, {
      action: "user.bootstrap",
      targetKind: "User",
      targetId: admin.id,
      details: { name: admin.name },
    });
    result.adminCreated = true;
    if (opts.adminPassword === undefined) result.generatedPassword = password;
  }
  if (opts.bootstrapToken !== undefined) {
    if (!admin)
      throw new AppError(
        "CONFLICT",
        `TRELLIS_BOOTSTRAP_TOKEN needs the "${BOOTSTRAP_ADMIN_NAME}" user, which no longer exists`,
      );
    const existing = await db.apiToken.findUnique({ where: { tokenHash: hashToken(opts.bootstrapToken) } });
    if (!existing) {
      const actor: Actor = { ...SYSTEM_ACTOR, kind: "user", userId: admin.id, name: admin.name };
      await createApiToken(db, actor, { name: "bootstrap", value: opts.bootstrapToken });
      result.tokenCreated = true;
    }
  }
  return result;
}

export interface SignedInUser {
  id: string;
  name: string;
  displayName: string | null;
  bindings: RoleBinding[];
}

/**
 * Checks a name and password. Every failure says the same thing and takes about the same time, so the
 * answer does not reveal which user names exist.
 */
export async function verifyCredentials(
  db: Db,
  input: { name: string; password: string },
  meta: { via: Via; ip?: string; userAgent?: string },
): Promise<SignedInUser> {
  const fail = () => new AppError("AUTH_INVALID_CREDENTIALS", "wrong user name or password");
  const nameOk = ZUserName.safeParse(input.name).success;
  const user = nameOk
    ? await db.user.findUnique({ where: { name: input.name }, include: { roleBindings: true } })
    : null;
  if (!user || !user.passwordHash || user.disabled) {
    await dummyVerify(input.password);
    throw fail();
  }
  if (!(await verifyPassword(user.passwordHash, input.password))) {
    await audit(
      db,
      { kind: "user", userId: user.id, name: user.name, bindings: [], via: meta.via, ...ipUa(meta) },
      {
        action: "user.signIn.failed",
        targetKind: "User",
        targetId: user.id,
      },
    );
    throw fail();
  }
  const data: { lastLoginAt: Date; passwordHash?: string } = { lastLoginAt: new Date() };
  if (passwordNeedsRehash(user.passwordHash)) data.passwordHash = await hashPassword(input.password);
  await db.user.update({ where: { id: user.id }, data });
  const bindings = user.roleBindings.map((b) => ({ role: b.role, namespace: b.namespace }));
  await audit(
    db,
    { kind: "user", userId: user.id, name: user.name, bindings, via: meta.via, ...ipUa(meta) },
    {
      action: "user.signIn",
      targetKind: "User",
      targetId: user.id,
    },
  );
  return { id: user.id, name: user.name, displayName: user.displayName, bindings };
}

/**
 * Records a single sign-on as `verifyCredentials` records a password sign-in: `lastLoginAt`, and `user.signIn`
 * in the audit log, with the provider's id in `details` (never its tokens or claims). The caller has matched
 * the provider's verified address to this user; a disabled or missing user is refused here too.
 */
export async function recordSsoSignIn(
  db: Db,
  userId: string,
  meta: { via: Via; provider: string; ip?: string; userAgent?: string },
): Promise<SignedInUser> {
  const user = await db.user.findUnique({ where: { id: userId }, include: { roleBindings: true } });
  if (!user || user.disabled) throw new AppError("AUTH_INVALID_CREDENTIALS", "this user cannot sign in");
  await db.user.update({ where: { id: user.id }, data: { lastLoginAt: new Date() } });
  const bindings = user.roleBindings.map((b) => ({ role: b.role, namespace: b.namespace }));
  await audit(
    db,
    { kind: "user", userId: user.id, name: user.name, bindings, via: meta.via, ...ipUa(meta) },
    {
      action: "user.signIn",
      targetKind: "User",
      targetId: user.id,
      details: { method: "sso", provider: meta.provider },
    },
  );
  return { id: user.id, name: user.name, displayName: user.displayName, bindings };
}

/**
 * The user a single sign-on signs in as: the enabled user with that email, or null. SSO users must already
 * exist (an admin grants roles before the first sign-in); the caller has checked the provider verified it.
 */
export async function userForSsoEmail(
  db: Db,
  email: string | null | undefined,
): Promise<{ id: string; name: string } | null> {
  if (!email) return null;
  const user = await db.user.findUnique({
    where: { email },
    select: { id: true, name: true, disabled: true },
  });
  return user && !user.disabled ? { id: user.id, name: user.name } : null;
}

/** What the console's frame shows of the signed-in user, or null when the user is gone or disabled. */
export async function consoleUser(db: Db, userId: string): Promise<{ name: string } | null> {
  const user = await db.user.findUnique({ where: { id: userId }, select: { name: true, disabled: true } });
  return user && !user.disabled ? { name: user.name } : null;
}

function ipUa(meta: { ip?: string; userAgent?: string }) {
  return { ...(meta.ip ? { ip: meta.ip } : {}), ...(meta.userAgent ? { userAgent: meta.userAgent } : {}) };
}

/** The actor for a signed-in console session, with bindings read fresh (a revoked role takes effect at once). */
export async function actorForUser(
  db: Db,
  userId: string,
  meta: { via: Via; ip?: string; userAgent?: string },
): Promise<Actor> {
  // One statement, as authenticateToken reads a token (tokens.ts): every console API call makes it first.
  const [user] = await db.$queryRaw<
    { id: string; name: string; disabled: boolean; bindings: RoleBinding[] }[]
  >`
    SELECT u."id", u."name", u."disabled",
           COALESCE((SELECT json_agg(json_build_object('role', b."role", 'namespace', b."namespace"))
                     FROM "RoleBinding" b WHERE b."userId" = u."id"), '[]') AS "bindings"
    FROM "User" u WHERE u."id" = ${userId}`;
  if (!user || user.disabled) throw new AppError("AUTH_REQUIRED", "your session has ended; sign in again");
  return {
    kind: "user",
    userId: user.id,
    name: user.name,
    bindings: user.bindings.map((b) => ({ role: b.role, namespace: b.namespace })),
    via: meta.via,
    ...ipUa(meta),
  };
}
