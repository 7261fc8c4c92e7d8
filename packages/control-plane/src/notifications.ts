// What a replica does with each notification it hears: the channels it LISTENs on and the reaction to
// each. The names and payload schemas are @trellis/contracts' (notify.ts), shared with the console.
import type pg from "pg";
import {
  decodeNotifyPayload,
  NOTIFY_CHANNELS,
  ZConfigChangedPayload,
  ZJoinTokenRevokedPayload,
} from "@trellis/contracts";
import type { Db } from "@trellis/db";
import type { RecomputeScheduler } from "./recompute-scheduler.js";

export interface NotificationReactions {
  schedule: RecomputeScheduler["schedule"];
  evict: (joinTokenId: string) => Promise<void>;
}

export const MESH_CHANNELS = [
  NOTIFY_CHANNELS.configChanged,
  NOTIFY_CHANNELS.registryChanged,
  NOTIFY_CHANNELS.joinTokenRevoked,
] as const;

export function onMeshNotification({ schedule, evict }: NotificationReactions): (n: pg.Notification) => void {
  return (n) => {
    if (n.channel === NOTIFY_CHANNELS.configChanged) {
      // A bare notify (or one this replica cannot read) still means "something changed".
      const generation = decodeNotifyPayload(ZConfigChangedPayload, n.payload)?.generation;
      schedule(generation, { resources: true });
    } else if (n.channel === NOTIFY_CHANNELS.registryChanged) {
      schedule(undefined, { registry: true });
    } else if (n.channel === NOTIFY_CHANNELS.joinTokenRevoked) {
      const revoked = decodeNotifyPayload(ZJoinTokenRevokedPayload, n.payload);
      if (revoked) void evict(revoked.joinTokenId);
      // The revocation list changed: every proxy gets it (and the evicted workloads are gone).
      schedule(undefined, { registry: true });
    }
  };
}

/**
 * How long joins and leaves are gathered into one notification: those of one turn of the event loop. A
 * 100 ms window was tried (one statement per join during a storm is thousands a minute) and made a proxy
 * that reconnects at once get a config it already had: its own leave reached a recompute before its return
 * did (server.test.ts, "does not resend what a reconnecting proxy already serves").
 */
export const REGISTRY_NOTIFY_COALESCE_MS = 0;

/**
 * Tells every replica (this one too) that proxies joined or left: at most one notification per
 * `coalesceMs`, sent after the first join or leave of that window (the promise settles then). Sent through the
 * pool, because the LISTEN connection must not run queries of its own concurrently. A failure is logged:
 * housekeeping's sweep and the next change bring the others up to date.
 */
export function registryAnnouncer(
  db: Db,
  replicaId: string,
  log: (line: string) => void,
  coalesceMs = REGISTRY_NOTIFY_COALESCE_MS,
): () => Promise<void> {
  let waiting: Promise<void> | null = null;
  const send = () =>
    db.$executeRaw`SELECT pg_notify(${NOTIFY_CHANNELS.registryChanged}, ${replicaId})`.then(
      () => undefined,
      (e: unknown) => log(`control plane: notify failed: ${(e as Error).message}`),
    );
  return () =>
    (waiting ??= new Promise<void>((r) => setTimeout(r, coalesceMs)).then(() => {
      // Joins from now on are announced by the next notification.
      waiting = null;
      return send();
    }));
}
