import argon2 from "argon2";

// argon2id with the library's defaults (m=64 MiB, t=3, p=4): OWASP's recommended family, tuned by argon2's
// maintainers. Kept in one place so a future re-tune rehashes on sign-in via `needsRehash`.
export function hashPassword(password: string): Promise<string> {
  return argon2.hash(password, { type: argon2.argon2id });
}

export async function verifyPassword(hash: string, password: string): Promise<boolean> {
  try {
    return await argon2.verify(hash, password);
  } catch {
    return false;
  }
}

export function passwordNeedsRehash(hash: string): boolean {
  return argon2.needsRehash(hash);
}

// Verified against when the user does not exist, so a wrong name costs the same time as a wrong password.
let dummyHash: Promise<string> | undefined;
export function dummyVerify(password: string): Promise<boolean> {
  dummyHash ??= hashPassword("trellis-timing-equaliser");
  return dummyHash.then((h) => verifyPassword(h, password));
}
