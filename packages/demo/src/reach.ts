// How a demo app reaches another service: the one thing the demo's apps know about the mesh.
/** The port every demo app listens on in a pod (`trellis up --demo --pods`), and so the port callers name. */
export const DEMO_SERVICE_PORT = 9080;

/**
 * How an app reaches another service.
 * - `sidecar`: its sidecar's outbound listener on 127.0.0.1, with `Host: <service>`. The port is read per call:
 *   in `trellis up --demo` the app starts (and holds its port) before its sidecar's ports are chosen.
 * - `name`: `http://<service>.<namespace>:<port>`, as an unchanged app does. In a pod whose sidecar captures
 *   (`trellis proxy --capture`), the sidecar answers the name with the service's VIP and carries the connection.
 */
export type Reach =
  { via: "sidecar"; outboundPort: () => number } | { via: "name"; namespace: string; port: number };

/** Where a call to `service` connects, and the authority (Host, `:authority`) it names. */
export function target(reach: Reach, service: string): { host: string; port: number; authority: string } {
  if (reach.via === "sidecar") return { host: "127.0.0.1", port: reach.outboundPort(), authority: service };
  const host = `${service}.${reach.namespace}`;
  return { host, port: reach.port, authority: `${host}:${reach.port}` };
}
