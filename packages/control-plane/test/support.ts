// What the control plane's end-to-end tests share: free ports, apps that say who they are, and calls made the
// way an app makes them, through its sidecar's outbound listener.
import { createServer, request, type Server } from "node:http";
import type { AddressInfo } from "node:net";

export { freePort } from "@trellis/dataplane/testing";

/** An app that answers every request with its name, so the caller can see which one served it. */
export async function nameApp(name: string): Promise<{ server: Server; port: number }> {
  const server = createServer((_req, res) => res.writeHead(200, { "content-type": "text/plain" }).end(name));
  await new Promise<void>((r) => server.listen(0, "127.0.0.1", () => r()));
  return { server, port: (server.address() as AddressInfo).port };
}

/** A call from an app to `service` through its sidecar's outbound listener. A failure is status 0. */
export function callThrough(
  outboundPort: number,
  service: string,
): Promise<{ status: number; body: string }> {
  return new Promise((resolve) => {
    const req = request(
      { host: "127.0.0.1", port: outboundPort, path: "/", headers: { host: service }, timeout: 5000 },
      (res) => {
        let body = "";
        res.setEncoding("utf8");
        res.on("data", (c: string) => (body += c));
        res.on("end", () => resolve({ status: res.statusCode ?? 0, body }));
      },
    );
    req.on("error", (e) => resolve({ status: 0, body: e.message }));
    req.on("timeout", () => req.destroy(new Error("timeout")));
    req.end();
  });
}
