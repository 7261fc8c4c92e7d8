// One consistent, versioned config snapshot per group of identical proxies (same namespace, service and
// version get the same config: their own key and certificate are added by the proxy). Compiled once per
// group per change; sent whole, or as a delta against the snapshot a proxy was sent before.
//
// A snapshot is two parts: the head (everything but the outbound services: identity, inbound policy,
// settings; small and per group) and the list of outbound services (the bulk: every endpoint the proxy may
// call; usually one list shared by all groups). Each service entry is serialized and hashed once per
// recompute, so a whole config is a few shared Buffers (sent as fragments of one WebSocket text message,
// RFC 6455 §5.4), and the delta between two snapshots is found by comparing entry hashes: a change that
// touches one service, or a setting, sends that and nothing else.
import { createHash, randomBytes } from "node:crypto";
import {
  compareOutboundServices,
  outboundServiceKey,
  reachableServiceKeys,
  type OutboundServiceRefLike,
  type ProxyNode,
} from "@trellis/contracts";
import type { RegistrySnapshot } from "./registry.js";
export interface ResourceRecord {
  kind: string;
  namespace: string;
  name: string;
  spec: unknown;
  revision: number;
}

export interface CompileInput {
  /** The group's proxies: `reachable` are the `namespace/name` of the only services they call, when declared. */
  proxy: { namespace: string; service: string; version: string; reachable?: readonly string[] };
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

/** One outbound service of a compiled config, serialized once per recompute. */
interface ServiceEntry {
  key: string;
  json: string;
  hash: string;
}

/** A compiled `services` array in canonical order; shared by every snapshot compiled with the same array. */
interface ServiceList {
  entries: ServiceEntry[];
  byKey: Map<string, ServiceEntry>;
  /** Hash of the entries' hashes: the list's identity across recomputes and replicas. */
  hash: string;
  /** Its JSON array in fragments, built when a whole config is first sent. */
  chunks: Buffer[] | null;
  bytes: number;
  /** Changes from earlier lists (by identity), built when a delta is first sent: entries whole, or edited. */
  diffs: WeakMap<ServiceList, ListDiff>;
  editDiffs: WeakMap<ServiceList, ListDiff>;
}

/** The services part of a delta: the JSON of the entries put (comma-separated, in fragments) and the keys removed. */
interface ListDiff {
  put: Buffer[];
  putCount: number;
  remove: string[];
  /** `endpoint-delta` only: the JSON of the endpoint edits (`ZEndpointEdits`, comma-separated), or "". */
  edits: string;
  /** Of `put`. */
  bytes: number;
}

/** A message ready to write: the fragments of one WebSocket text message. */
export interface Encoded {
  chunks: readonly Buffer[];
  bytes: number;
  delta: boolean;
}

export interface Snapshot {
  version: string;
  nonce: string;
  /** The config without `services`, as JSON. */
  readonly head: string;
  readonly services: ServiceList;
  /** Encoded messages: whole (key "") or deltas (key: base version), each built once. */
  readonly encoded: Map<string, Encoded>;
}

export type SnapshotResult = { ok: true; snapshot: Snapshot } | { ok: false; error: string };

export type ProxyGroup = CompileInput["proxy"];

/** The group a proxy belongs to: what its config depends on, of all it said in its hello. */
export function groupOf(node: ProxyNode): ProxyGroup {
  const reachable = reachableServiceKeys(node);
  return {
    namespace: node.namespace,
    service: node.service,
    version: node.version,
    ...(reachable ? { reachable } : {}),
  };
}

/** Proxies with equal keys get equal configs: same workload identity, and the same services declared. */
export function groupKey(p: {
  namespace: string;
  service: string;
  version: string;
  reachable?: readonly string[];
}): string {
  return `${p.namespace}/${p.service}/${p.version}${p.reachable ? `|${p.reachable.join(",")}` : ""}`;
}

/**
 * Fragment size: one TLS record. A socket keeps buffers as large as the largest write it was given, so
 * configs go out in record-sized writes (see push-queue.ts).
 */
export const CHUNK_BYTES = 16_384;

function chunked(b: Buffer): Buffer[] {
  const out: Buffer[] = [];
  for (let i = 0; i < b.length; i += CHUNK_BYTES) out.push(b.subarray(i, i + CHUNK_BYTES));
  return out;
}

/** Joins JSON texts with commas into record-sized fragments (one copy, no giant intermediate string). */
function joinedChunks(parts: readonly string[]): { chunks: Buffer[]; bytes: number } {
  const chunks: Buffer[] = [];
  let pending: string[] = [];
  let size = 0;
  let bytes = 0;
  const flush = () => {
    if (pending.length === 0) return;
    const b = Buffer.from(pending.join(""));
    bytes += b.length;
    chunks.push(...chunked(b));
    pending = [];
    size = 0;
  };
  parts.forEach((p, i) => {
    pending.push(i === 0 ? p : `,${p}`);
    size += p.length + 1;
    if (size >= CHUNK_BYTES) flush();
  });
  flush();
  return { chunks, bytes };
}

const sha = (s: string) => createHash("sha256").update(s).digest("base64url");

/**
 * Serializes the snapshots of one recompute. Lists and entries are memoized by identity: the compiler hands
 * the same `services` array (and the same entry objects) to every group that gets them, within one recompute.
 */
export class SnapshotBuilder {
  private readonly lists = new WeakMap<object, ServiceList | string>();
  private readonly entries = new WeakMap<object, ServiceEntry>();

  constructor(private readonly compile: CompileFn) {}

  build(input: CompileInput): SnapshotResult {
    let compiled: Record<string, unknown>;
    try {
      compiled = this.compile(input);
    } catch (e) {
      return { ok: false, error: `compiling failed: ${(e as Error).message}` };
    }
    const { services: raw, version: _v, ...rest } = compiled;
    // The revocation list is the registry's, the same for every proxy, whatever compiled the rest.
    const revoked = input.registry.revokedCertificates;
    if (revoked !== undefined && revoked.length > 0) rest.revokedCertificates = revoked;
    const list = Array.isArray(raw) ? this.list(raw) : EMPTY_LIST;
    if (typeof list === "string") return { ok: false, error: `compiling failed: ${list}` };
    const head = JSON.stringify(rest);
    // The version is the content: equal configs get equal versions on every replica, so a proxy that
    // reconnects to another replica is not sent what it already has.
    const version = sha(`${head}\0${list.hash}`).slice(0, 16);
    return {
      ok: true,
      snapshot: {
        version,
        nonce: randomBytes(6).toString("base64url"),
        head,
        services: list,
        encoded: new Map(),
      },
    };
  }

  private list(raw: unknown[]): ServiceList | string {
    const memo = this.lists.get(raw);
    if (memo !== undefined) return memo;
    const sorted = [...(raw as OutboundServiceRefLike[])].sort(compareOutboundServices);
    const entries: ServiceEntry[] = [];
    const byKey = new Map<string, ServiceEntry>();
    let result: ServiceList | string | null = null;
    for (const svc of sorted) {
      let entry = this.entries.get(svc);
      if (entry === undefined) {
        const json = JSON.stringify(svc);
        entry = { key: outboundServiceKey(svc), json, hash: sha(json).slice(0, 22) };
        this.entries.set(svc, entry);
      }
      if (byKey.has(entry.key)) {
        // A delta addresses services by key: two entries with one key cannot be sent (nor served).
        result = `the compiled config has service ${entry.key} twice`;
        break;
      }
      byKey.set(entry.key, entry);
      entries.push(entry);
    }
    result ??= {
      entries,
      byKey,
      hash: sha(entries.map((e) => e.hash).join(",")),
      chunks: null,
      bytes: 0,
      diffs: new WeakMap(),
      editDiffs: new WeakMap(),
    };
    this.lists.set(raw, result);
    return result;
  }
}

const EMPTY_LIST: ServiceList = {
  entries: [],
  byKey: new Map(),
  hash: sha(""),
  chunks: null,
  bytes: 0,
  diffs: new WeakMap(),
  editDiffs: new WeakMap(),
};

function listChunks(list: ServiceList): { chunks: Buffer[]; bytes: number } {
  if (list.chunks === null) {
    const { chunks, bytes } = joinedChunks(list.entries.map((e) => e.json));
    list.chunks = chunks;
    list.bytes = bytes;
  }
  return { chunks: list.chunks, bytes: list.bytes };
}

function messageHead(type: "config" | "delta", snap: Snapshot): string {
  return `{"type":"${type}","version":${JSON.stringify(snap.version)},"nonce":${JSON.stringify(snap.nonce)}`;
}

/** The whole `config` message: `{…head, "services": [...]}`, the services' fragments shared with other groups. */
export function encodeWhole(snap: Snapshot): Encoded {
  const memo = snap.encoded.get("");
  if (memo) return memo;
  const { chunks: body, bytes } = listChunks(snap.services);
  const open = snap.head === "{}" ? "{" : `${snap.head.slice(0, -1)},`;
  const first = Buffer.from(`${messageHead("config", snap)},"config":${open}"services":[`);
  const last = Buffer.from("]}}");
  const chunks = [...chunked(first), ...body, last];
  const enc: Encoded = { chunks, bytes: first.length + bytes + last.length, delta: false };
  snap.encoded.set("", enc);
  return enc;
}

/**
 * An entry as its endpoints and the rest: `rest` is the entry's JSON with the endpoint list left out (its key
 * kept in place), each endpoint its own JSON. Built from the entry's JSON when a delta first needs it (a
 * parse of the changed entries only), and kept while the entry lives. Null: the entry has no endpoint list.
 */
interface EntryParts {
  rest: string;
  endpoints: string[];
}
const partsOf = new WeakMap<ServiceEntry, EntryParts | null>();

function entryParts(e: ServiceEntry): EntryParts | null {
  let parts = partsOf.get(e);
  if (parts === undefined) {
    const o = JSON.parse(e.json) as Record<string, unknown>;
    // JSON.stringify(JSON.parse(x)) is x for what JSON.stringify wrote: the pieces are the bytes sent whole.
    parts = Array.isArray(o.endpoints)
      ? { rest: JSON.stringify({ ...o, endpoints: 0 }), endpoints: o.endpoints.map((x) => JSON.stringify(x)) }
      : null;
    partsOf.set(e, parts);
  }
  return parts;
}

/**
 * The splices (`ZEndpointEdit`, as JSON) that turn endpoint list `a` into `b`, or null when the two do not
 * keep their common endpoints in one order (or repeat one): the entry is then sent whole. The compiler sorts
 * endpoints (version, address, workload), so a join is one insert and a leave one removal.
 */
export function endpointEdits(a: readonly string[], b: readonly string[]): string[] | null {
  const inA = new Set(a);
  const inB = new Set(b);
  if (inA.size !== a.length || inB.size !== b.length) return null;
  const edits: string[] = [];
  let i = 0;
  let j = 0;
  let at = 0;
  while (i < a.length || j < b.length) {
    if (i < a.length && j < b.length && a[i] === b[j]) {
      i++;
      j++;
      at++;
      continue;
    }
    let remove = 0;
    while (i < a.length && !inB.has(a[i]!)) {
      i++;
      remove++;
    }
    const insert: string[] = [];
    while (j < b.length && !inA.has(b[j]!)) insert.push(b[j++]!);
    // Both sides stand on a common endpoint that is not the same one: the order differs.
    if (remove === 0 && insert.length === 0) return null;
    edits.push(`{"at":${at},"remove":${remove},"insert":[${insert.join(",")}]}`);
    at += insert.length;
  }
  return edits;
}

/** The edits of one entry as `ZEndpointEdits` JSON, or null when sending it whole is as small or smaller. */
function entryEdits(from: ServiceEntry, to: ServiceEntry): string | null {
  const a = entryParts(from);
  const b = entryParts(to);
  if (a === null || b === null || a.rest !== b.rest) return null;
  const edits = endpointEdits(a.endpoints, b.endpoints);
  if (edits === null) return null;
  const json = `{"service":${JSON.stringify(to.key)},"edits":[${edits.join(",")}]}`;
  return json.length < to.json.length ? json : null;
}

function diff(from: ServiceList, to: ServiceList, withEdits: boolean): ListDiff {
  const memos = withEdits ? to.editDiffs : to.diffs;
  const memo = memos.get(from);
  if (memo) return memo;
  const put: string[] = [];
  const edits: string[] = [];
  for (const e of to.entries) {
    const before = from.byKey.get(e.key);
    if (before?.hash === e.hash) continue;
    const edited = withEdits && before !== undefined ? entryEdits(before, e) : null;
    if (edited !== null) edits.push(edited);
    else put.push(e.json);
  }
  const remove: string[] = [];
  for (const e of from.entries) if (!to.byKey.has(e.key)) remove.push(e.key);
  const { chunks, bytes } = joinedChunks(put);
  const editsJson = edits.join(",");
  const d: ListDiff = { put: chunks, putCount: put.length, remove, edits: editsJson, bytes };
  memos.set(from, d);
  return d;
}

/**
 * The message that brings a proxy holding `base` to `snap`: a delta when `base` is known and the delta is
 * smaller than the whole config, else the whole config. With `endpointEdits` (the proxy announced
 * `endpoint-delta`), a service whose endpoints alone changed is sent as edits of its endpoint list.
 */
export function encodeFor(snap: Snapshot, base: Snapshot | null, endpointEdits = false): Encoded {
  if (base === null || base.version === snap.version) return encodeWhole(snap);
  const memoKey = endpointEdits ? `e:${base.version}` : base.version;
  const memo = snap.encoded.get(memoKey);
  if (memo) return memo;
  const d = diff(base.services, snap.services, endpointEdits);
  const config = base.head === snap.head ? "" : `,"config":${snap.head}`;
  const first = Buffer.from(
    `${messageHead("delta", snap)},"base":${JSON.stringify(base.version)}${config},"services":{"put":[`,
  );
  const edits = d.edits === "" ? "" : `,"endpoints":[${d.edits}]`;
  const last = Buffer.from(`],"remove":${JSON.stringify(d.remove)}${edits}}}`);
  const bytes = first.length + d.bytes + last.length;
  const wholeBytes = snap.head.length + listChunks(snap.services).bytes;
  const enc: Encoded =
    bytes < wholeBytes
      ? { chunks: [...chunked(first), ...d.put, ...chunked(last)], bytes, delta: true }
      : encodeWhole(snap);
  snap.encoded.set(memoKey, enc);
  return enc;
}

/** `namespace/name` of the outbound services of each list, built when first asked (telemetry checks). */
const namesOf = new WeakMap<ServiceList, Set<string>>();

/** Whether the config of `snap` lets its proxies call `namespace/name` (it has an outbound entry for it). */
export function carriesService(snap: Snapshot, namespace: string, name: string): boolean {
  let names = namesOf.get(snap.services);
  if (names === undefined) {
    names = new Set();
    for (const key of snap.services.byKey.keys()) names.add(key.slice(0, key.lastIndexOf(":")));
    namesOf.set(snap.services, names);
  }
  return names.has(`${namespace}/${name}`);
}
