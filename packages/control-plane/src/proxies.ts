// The proxies connected to this replica: every open stream, and those that said hello (they get pushes).
// A stream the mesh server accepted becomes a session here; its hello and its end are announced so that
// every replica updates endpoints.
import type { WebSocket } from "ws";
import { ProxySession, type JoinScope, type SessionDeps } from "./session.js";

/** What every session of this replica shares. */
export type SharedSessionDeps = Omit<SessionDeps, "scope" | "onReady" | "onClose">;

export interface ReplicaProxiesHooks {
  /** How many proxies said hello (a stat). */
  onCount(ready: number): void;
  /** A proxy joined the registry or left it. */
  onJoinedOrLeft(): void;
}

export interface ReplicaProxies {
  /** Proxies that said hello: they get pushes. */
  readonly ready: ReadonlySet<ProxySession>;
  /** Every open stream, also those still before hello: all are closed on shutdown. */
  readonly streams: ReadonlySet<ProxySession>;
  /** An accepted stream; `closed` is called once when it ends. */
  accept(ws: WebSocket, scope: JoinScope, closed: () => void): void;
  /** Shutdown: every stream is closed, registrations are kept. */
  closeAll(): Promise<void>;
}

export function createReplicaProxies(deps: SharedSessionDeps, hooks: ReplicaProxiesHooks): ReplicaProxies {
  const ready = new Set<ProxySession>();
  const streams = new Set<ProxySession>();
  return {
    ready,
    streams,
    accept(ws, scope, closed) {
      const session = new ProxySession(ws, {
        ...deps,
        scope,
        onReady: (s) => {
          ready.add(s);
          hooks.onCount(ready.size);
          hooks.onJoinedOrLeft();
        },
        onClose: (s, wasReady) => {
          ready.delete(s);
          streams.delete(s);
          closed();
          hooks.onCount(ready.size);
          if (wasReady) hooks.onJoinedOrLeft();
        },
      });
      streams.add(session);
      session.start();
    },
    async closeAll() {
      // Proxies keep serving their last config and reconnect to another replica (or to us after a restart).
      // Their registrations stay: marking them gone would strip every endpoint from the configs of the
      // proxies that reconnect first (a config gap). Proxies that never come back are swept as stale.
      await Promise.all(
        [...streams].map((s) => s.close(1001, "control plane shutting down", { keepRegistration: true })),
      );
    },
  };
}
