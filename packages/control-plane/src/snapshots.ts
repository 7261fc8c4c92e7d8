// One consistent, versioned config snapshot per group of identical proxies (same namespace, service and
// version get the same config: their own key and certificate are added by the proxy). Compiled once per
// group per change, serialized once, sent to every proxy of the group whose version differs.
//
// The outbound services, the bulk of every config (every endpoint of the mesh), are usually the same for all
// groups: the compiler hands them out as one shared array, and they are serialized once per recompute and sent
// as the same Buffers to every proxy, as fragments of one WebSocket text message (RFC 6455 §5.4; the proxy's
// WebSocket library reassembles them, so the proxy still receives one `config` message).
import { createHash, randomBytes } from "node:crypto";
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

/**
 * Resources + registry → one proxy's config, without `version` and `tls` (the server and proxy add those).
 * The result is sent as it is: validating it is the compiler's job (`meshCompiler` validates with the proxy
 * config's schema, once); it throws when it cannot produce a valid config. The server calls it with the same
 * `resources` and `registry` objects for every group of one recompute, so it may memoize on their identity,
 * and it may return the same `services` array for many groups (which must then not be mutated).
 */
export type CompileFn = (input: CompileInput) => Record<string, unknown>;

export interface Snapshot {
  version: string;
  nonce: string;
  /**
   * The `config` message as the fragments of one WebSocket text message (at most `CHUNK_BYTES` each): every
   * proxy of the group is sent these same Buffers, and most of them are shared with other groups.
   */
  chunks: readonly Buffer[];
  /** Total size of the message. */
  bytes: number;
}

export type SnapshotResult = { ok: true; snapshot: Snapshot } | { ok: false; error: string };

export function groupKey(p: { namespace: string; service: string; version: string }): string {
  return `${p.namespace}/${p.service}/${p.version}`;
}

/**
 * Fragment size: one TLS record. A socket keeps buffers as large as the largest write it was given, so the
 * config goes out in record-sized writes (see push-queue.ts).
 */
export const CHUNK_BYTES = 16_384;

function chunked(b: Buffer): Buffer[] {
  const out: Buffer[] = [];
  for (let i = 0; i < b.length; i += CHUNK_BYTES) out.push(b.subarray(i, i + CHUNK_BYTES));
  return out;
}

/** A serialized `services` array: its JSON (in fragments) and that JSON's hash. */
interface SerializedPart {
  chunks: Buffer[];
  bytes: number;
  hash: string;
}

/**
 * Serializes a group's config, reusing the serialization of a `services` array seen before (by identity). One
 * per recompute: `services` arrays are shared within one recompute only, and the memo is dropped with it.
 */
export class SnapshotBuilder {
  private readonly parts = new WeakMap<object, SerializedPart>();

  constructor(private readonly compile: CompileFn) {}

  build(input: CompileInput): SnapshotResult {
    let compiled: Record<string, unknown>;
    try {
      compiled = this.compile(input);
    } catch (e) {
      return { ok: false, error: `compiling failed: ${(e as Error).message}` };
    }
    const services = compiled.services;
    let prefix: string;
    let suffix = "";
    let shared: SerializedPart | null = null;
    if (Array.isArray(services) && services.length > 0) {
      shared = this.parts.get(services) ?? null;
      if (shared === null) {
        const json = Buffer.from(JSON.stringify(services));
        shared = {
          chunks: chunked(json),
          bytes: json.length,
          hash: createHash("sha256").update(json).digest("base64url"),
        };
        this.parts.set(services, shared);
      }
      // The rest of the config with a marker where the services go (same key, so the same position).
      const body = JSON.stringify({ ...compiled, services: MARK });
      const at = body.indexOf(MARK_JSON);
      prefix = body.slice(0, at);
      suffix = body.slice(at + MARK_JSON.length);
    } else prefix = JSON.stringify(compiled);
    // The version is the content: equal configs get equal versions on every replica, so a proxy that
    // reconnects to another replica is not sent what it already has. The shared part enters by its hash.
    const version = createHash("sha256")
      .update(prefix)
      .update(shared ? `\0${shared.hash}\0` : "")
      .update(suffix)
      .digest("base64url")
      .slice(0, 16);
    const nonce = randomBytes(6).toString("base64url");
    // `{...compiled, version}` as JSON (the version goes last), then the end of the message.
    const end = shared ? suffix : prefix;
    const open = !shared && end === "{}" ? "{" : `${end.slice(0, -1)},`;
    const closed = `${open}"version":${JSON.stringify(version)}}}`;
    const head = `{"type":"config","version":${JSON.stringify(version)},"nonce":${JSON.stringify(nonce)},"config":`;
    const chunks = shared
      ? [...chunked(Buffer.from(head + prefix)), ...shared.chunks, ...chunked(Buffer.from(closed))]
      : chunked(Buffer.from(head + closed));
    return {
      ok: true,
      snapshot: { version, nonce, chunks, bytes: chunks.reduce((n, c) => n + c.length, 0) },
    };
  }
}

const MARK = "\u0000trellis:services\u0000";
const MARK_JSON = JSON.stringify(MARK);
