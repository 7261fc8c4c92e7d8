// Benchmark child: the floor. A plain TCP server writes the same number of bytes to each of N connected
// clients; the clients run in a process of their own (as the fleet does) and time the last byte. Two
// processes also keep each under the open-files limit at N = 10,000 (2N sockets would not fit in one).
//   floor.mjs '{"n":…,"bytes":…}'            the server (forks the clients)
//   floor.mjs '{"n":…,"bytes":…}' clients    the clients
import { fork } from "node:child_process";
import { connect, createServer } from "node:net";
import { fileURLToPath } from "node:url";

const { n, bytes } = JSON.parse(process.argv[2]);

if (process.argv[3] === "clients") {
  const { port } = JSON.parse(process.argv[4]);
  const doneAt = [];
  const clients = [];
  for (let i = 0; i < n; i += 200) {
    await Promise.all(
      Array.from(
        { length: Math.min(200, n - i) },
        () =>
          new Promise((resolve, reject) => {
            const c = connect(port, "127.0.0.1", resolve);
            c.on("error", reject);
            let received = 0;
            c.on("data", (d) => {
              received += d.length;
              if (received === bytes) doneAt.push(Date.now());
            });
            clients.push(c);
          }),
      ),
    );
  }
  process.send({ type: "connected" });
  process.on("message", async (m) => {
    if (m.type !== "go") return;
    while (doneAt.length < n) await new Promise((r) => setTimeout(r, 5));
    process.send({ type: "floor", latencies: doneAt.map((t) => t - m.t0) });
    for (const c of clients) c.destroy();
    process.exit(0);
  });
} else {
  const payload = Buffer.alloc(bytes, 120);
  const server = createServer();
  const serverSockets = [];
  server.on("connection", (s) => serverSockets.push(s));
  await new Promise((r) => server.listen({ port: 0, host: "127.0.0.1", backlog: 4096 }, r));
  const clients = fork(fileURLToPath(import.meta.url), [
    process.argv[2],
    "clients",
    JSON.stringify({ port: server.address().port }),
  ]);
  await new Promise((r) => clients.once("message", r)); // connected
  while (serverSockets.length < n) await new Promise((r) => setTimeout(r, 10));
  const result = new Promise((r) => clients.once("message", r));
  const t0 = Date.now();
  clients.send({ type: "go", t0 });
  for (const s of serverSockets) s.write(payload);
  const { latencies } = await result;
  process.send({ type: "floor", latencies });
  for (const s of serverSockets) s.destroy();
  server.close();
  process.exit(0);
}
