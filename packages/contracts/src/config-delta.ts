import type { DeltaMessage } from "./mesh-stream.js";

/**
 * Config deltas: how a proxy (or any client of the stream) turns the config it holds plus a `delta` message
 * into the config of the delta's version. Pure, and the same for every client, so "the config of version V"
 * means one thing whether it arrived whole or in pieces.
 *
 * Outbound services are keyed by `namespace/name:port` and kept in one canonical order (namespace, name, port
 * by code point): the control plane sends whole configs in that order too, so a config built from deltas is
 * identical to the whole one (the data plane resolves overlapping host names by position).
 *
 * When to edit this file: when the delta message learns a new kind of change.
 */

/** The fields that identify an outbound service entry. Port defaults to 80, as in the proxy config. */
export interface OutboundServiceRefLike {
  namespace: string;
  name: string;
  port?: number | undefined;
}

export function outboundServiceKey(s: OutboundServiceRefLike): string {
  return `${s.namespace}/${s.name}:${s.port ?? 80}`;
}

/** The canonical order of outbound services in a config: namespace, name, then port, by code point. */
export function compareOutboundServices(a: OutboundServiceRefLike, b: OutboundServiceRefLike): number {
  return (
    (a.namespace < b.namespace ? -1 : a.namespace > b.namespace ? 1 : 0) ||
    (a.name < b.name ? -1 : a.name > b.name ? 1 : 0) ||
    (a.port ?? 80) - (b.port ?? 80)
  );
}

/** A config as a stream client holds it: the pushed config (no TLS material, no local parts) and its version. */
export interface HeldConfig {
  version: string;
  config: Record<string, unknown>;
}

export type DeltaResult = { ok: true; held: HeldConfig } | { ok: false; error: string };

/**
 * Applies a delta to the config held. Fails (and the client asks for a resync) when the delta is for another
 * base, or names a service to remove that the config does not have: either means the two sides disagree on
 * what the proxy holds, and guessing would serve a config nobody compiled.
 */
export function applyConfigDelta(held: HeldConfig | null, delta: DeltaMessage): DeltaResult {
  if (held === null) return { ok: false, error: `delta against ${delta.base}, but no config is held` };
  if (held.version !== delta.base)
    return { ok: false, error: `delta against ${delta.base}, but the config held is ${held.version}` };
  const previous = Array.isArray(held.config.services)
    ? (held.config.services as OutboundServiceRefLike[])
    : [];
  const byKey = new Map<string, OutboundServiceRefLike>();
  for (const s of previous) byKey.set(outboundServiceKey(s), s);
  for (const key of delta.services.remove) {
    if (!byKey.delete(key))
      return { ok: false, error: `delta removes service ${key}, which the config held lacks` };
  }
  for (const s of delta.services.put as unknown as OutboundServiceRefLike[])
    byKey.set(outboundServiceKey(s), s);
  for (const { service: key, edits } of delta.services.endpoints) {
    const s = byKey.get(key) as (OutboundServiceRefLike & { endpoints?: unknown }) | undefined;
    if (s === undefined)
      return { ok: false, error: `delta edits endpoints of ${key}, which the config held lacks` };
    const endpoints = Array.isArray(s.endpoints) ? [...(s.endpoints as unknown[])] : [];
    for (const e of edits) {
      if (e.at + e.remove > endpoints.length)
        return {
          ok: false,
          error: `delta edits endpoints ${e.at}..${e.at + e.remove} of ${key}, which has ${endpoints.length}`,
        };
      endpoints.splice(e.at, e.remove, ...e.insert);
    }
    // The entry keeps its keys' order (`endpoints` stays where it was): the config is the one compiled.
    byKey.set(key, { ...s, endpoints } as OutboundServiceRefLike);
  }
  let head: Record<string, unknown>;
  if (delta.config !== undefined) head = delta.config;
  else {
    const { services: _s, ...rest } = held.config;
    head = rest;
  }
  const services = [...byKey.values()].sort(compareOutboundServices);
  return { ok: true, held: { version: delta.version, config: { ...head, services } } };
}
