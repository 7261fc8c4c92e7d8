// For tests of the built CLI's REST commands: the REST handler the console serves, behind node's http server
// on a free port, and the `trellis` binary spawned as a user runs it (without blocking this process, where the
// server lives). Import these rather than writing them again in the next test file.
import { spawn, type ChildProcess } from "node:child_process";
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { fileURLToPath } from "node:url";
import { handleRestRequest } from "@trellis/api";
import type { Db } from "@trellis/db";

const BIN = fileURLToPath(new URL("../../bin/trellis.js", import.meta.url));

export interface Run {
  code: number | null;
  out: string;
  err: string;
}

/** Serves /api/v1 from `db` on 127.0.0.1 and a free port; returns the server and its URL. */
export async function serveRest(db: Db): Promise<{ server: Server; url: string }> {
  const server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on("data", (c: Buffer) => chunks.push(c));
    req.on("end", () => {
      const headers = new Headers();
      for (const [k, v] of Object.entries(req.headers)) if (typeof v === "string") headers.set(k, v);
      const hasBody = req.method !== "GET" && req.method !== "HEAD";
      void handleRestRequest(
        db,
        new Request(`http://${req.headers.host}${req.url}`, {
          method: req.method!,
          headers,
          ...(hasBody ? { body: Buffer.concat(chunks) } : {}),
        }),
      ).then(async (r) => {
        res.writeHead(r.status, Object.fromEntries(r.headers));
        res.end(Buffer.from(await r.arrayBuffer()));
      });
    });
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  return { server, url: `http://127.0.0.1:${(server.address() as AddressInfo).port}` };
}

/** Runs the built CLI with `env` added to this process's environment; killed after 30 s. */
export function runTrellis(args: string[], env: Record<string, string>): Promise<Run> {
  return new Promise<Run>((resolve, reject) => {
    const child: ChildProcess = spawn(process.execPath, [BIN, ...args], {
      env: { ...process.env, ...env },
      stdio: ["ignore", "pipe", "pipe"],
    });
    let out = "";
    let err = "";
    child.stdout!.on("data", (c: Buffer) => (out += c.toString()));
    child.stderr!.on("data", (c: Buffer) => (err += c.toString()));
    const timer = setTimeout(() => child.kill("SIGKILL"), 30_000);
    child.on("error", reject);
    child.on("close", (code) => {
      clearTimeout(timer);
      resolve({ code, out, err });
    });
  });
}
