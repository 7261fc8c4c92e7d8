import { createHmac, randomBytes } from "node:crypto";
import { existsSync, mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { homedir } from "node:os";
import { join, resolve } from "node:path";

/** Where `trellis up` keeps its state: the embedded database, generated secrets. */
export function trellisHome(): string {
  return resolve(process.env.TRELLIS_HOME || join(homedir(), ".trellis"));
}

/**
 * The mesh secret (encrypts the CA key; signs console sessions unless NEXTAUTH_SECRET is set): from
 * TRELLIS_SECRET, else generated once into `<home>/secret` with mode 0600.
 */
export function meshSecret(home: string): { secret: string; generated: boolean } {
  if (process.env.TRELLIS_SECRET) {
    if (process.env.TRELLIS_SECRET.length < 32)
      throw new Error("TRELLIS_SECRET must be at least 32 characters");
    return { secret: process.env.TRELLIS_SECRET, generated: false };
  }
  mkdirSync(home, { recursive: true, mode: 0o700 });
  const file = join(home, "secret");
  if (existsSync(file)) return { secret: readFileSync(file, "utf8").trim(), generated: false };
  const secret = randomBytes(32).toString("base64url");
  writeFileSync(file, secret + "\n", { mode: 0o600, flag: "wx" });
  return { secret, generated: true };
}

/** A purpose-specific key derived from the mesh secret, so one leaked derived key exposes nothing else. */
export function deriveKey(secret: string, purpose: string): string {
  return createHmac("sha256", secret).update(`trellis:${purpose}`).digest("base64url");
}
