// One consistent, versioned config snapshot per group of identical proxies (same namespace, service and
// version get the same config: their own key and certificate are added by the proxy). Compiled once per
// group per change, serialized once, sent to every proxy of the group whose version differs.
import { createHash, randomBytes } from "node:crypto";
import { validateProxyConfig, formatProxyConfigIssues } from "@trellis/contracts";
import type { RegistrySnapshot } from "./registry.js";

export interface ResourceRecord {
  kind: string;
  namespace: string;
  name: string;
  spec: unknown;
  revision: number;
}

export interface CompileInput {
  proxy: { namespace: string; service: string; version: string };
  resources: readonly ResourceRecord[];
  registry: RegistrySnapshot;
  trustDomain: string;
}

/** Resources + registry → one proxy's config, without `version` and `tls` (the server and proxy add those). */
export type CompileFn = (input: CompileInput) => Record<string, unknown>;

export interface Snapshot {
  version: string;
  nonce: string;
  /** The `config` message, serialized once for every proxy of the group. */
  message: string;
}

export type SnapshotResult = { ok: true; snapshot: Snapshot } | { ok: false; error: string };

// Validation stand-ins for what each proxy supplies itself: its key and certificate.
const PLACEHOLDER_TLS = { certPem: "placeholder", keyPem: "placeholder", caPem: "placeholder" };

export function groupKey(p: { namespace: string; service: string; version: string }): string {
  return `${p.namespace}/${p.service}/${p.version}`;
}

export function buildSnapshot(compile: CompileFn, input: CompileInput): SnapshotResult {
  let compiled: Record<string, unknown>;
  try {
    compiled = compile(input);
  } catch (e) {
    return { ok: false, error: `compiling failed: ${(e as Error).message}` };
  }
  const body = JSON.stringify(compiled);
  // The version is the content: equal configs get equal versions on every replica, so a proxy that
  // reconnects to another replica is not sent what it already has.
  const version = createHash("sha256").update(body).digest("base64url").slice(0, 16);
  const config = { ...compiled, version };
  const check = validateProxyConfig({ ...config, tls: PLACEHOLDER_TLS });
  if (!check.ok)
    return {
      ok: false,
      error: `invalid config for ${groupKey(input.proxy)}: ${formatProxyConfigIssues(check.issues)}`,
    };
  const nonce = randomBytes(6).toString("base64url");
  return {
    ok: true,
    snapshot: { version, nonce, message: JSON.stringify({ type: "config", version, nonce, config }) },
  };
}
