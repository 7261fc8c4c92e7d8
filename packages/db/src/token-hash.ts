// How a bearer token (an API token, a join token's secret) is stored: its SHA-256, hex. The console writes it
// (services) and the control plane looks join tokens up by it, so it is defined once, here, next to the
// column it fills: both already depend on @trellis/db, contracts stays zod-only, and the control plane keeps
// not importing the services layer.
import { createHash } from "node:crypto";

/** Tokens carry 256 bits of entropy, so SHA-256 is enough (a slow hash protects guessable secrets only). */
export function hashToken(token: string): string {
  return createHash("sha256").update(token, "utf8").digest("hex");
}
