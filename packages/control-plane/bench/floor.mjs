// Benchmark child: the floor. A plain TCP server with N connected clients writes the same number of bytes to
// each, and the clients (in this process too, as the fleet shares its process) time the last byte.
import { createServer, connect } from "node:net";

const { n, bytes } = JSON.parse(process.argv[2]);
const payload = Buffer.alloc(bytes, 120);
const server = createServer();
const serverSockets = [];
server.on("connection", (s) => serverSockets.push(s));
await new Promise((r) => server.listen(0, "127.0.0.1", r));
const port = server.address().port;
const clients = [];
for (let i = 0; i < n; i += 200) {
  await Promise.all(
    Array.from(
      { length: Math.min(200, n - i) },
      () =>
        new Promise((resolve) => {
          const c = connect(port, "127.0.0.1", resolve);
          c.received = 0;
          clients.push(c);
        }),
    ),
  );
}
while (serverSockets.length < n) await new Promise((r) => setTimeout(r, 10));
const done = [];
const t0 = Date.now();
await new Promise((resolve) => {
  for (const c of clients)
    c.on("data", (d) => {
      c.received += d.length;
      if (c.received === bytes) {
        done.push(Date.now() - t0);
        if (done.length === n) resolve();
      }
    });
  for (const s of serverSockets) s.write(payload);
});
process.send({ type: "floor", latencies: done });
for (const c of clients) c.destroy();
server.close();
process.exit(0);
