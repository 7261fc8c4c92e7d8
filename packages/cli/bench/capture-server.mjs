// The capture benchmark's server app (bench/capture.mjs), run in the server pod: one tiny HTTP handler on two
// ports. `node capture-server.mjs <meshPort> <directPort>`; prints `listening` when both are up.
//   meshPort    the app port its sidecar announces and captures inbound: the mesh paths arrive here, from the
//               sidecar (127.0.0.1)
//   directPort  captured by no rule on either side: the direct path, pod to pod
// It counts requests by (port, peer address) and answers GET /counts with them, which the benchmark reads to
// show which way each path's requests really came (and does not count).
import http from "node:http";

const [meshPort, directPort] = process.argv.slice(2).map(Number);
const body = Buffer.from("hello from the server pod\n");
const counts = new Map();

function handle(req, res) {
  if (req.url === "/counts") {
    res.setHeader("content-type", "application/json");
    return res.end(JSON.stringify(Object.fromEntries(counts)));
  }
  const key = `${req.socket.localPort} ${req.socket.remoteAddress}`;
  counts.set(key, (counts.get(key) ?? 0) + 1);
  res.writeHead(200, { "content-type": "text/plain", "content-length": body.length });
  res.end(body);
}

const listen = (port) =>
  new Promise((resolve, reject) => {
    const server = http.createServer({ keepAliveTimeout: 60_000 }, handle);
    server.once("error", reject);
    server.listen(port, "0.0.0.0", resolve);
  });
await Promise.all([listen(meshPort), listen(directPort)]);
console.log(`listening on ${meshPort} (mesh) and ${directPort} (direct)`);
process.on("SIGTERM", () => process.exit(0));
