#!/usr/bin/env node
// TLS handshakes against a server set up as the control plane's (mesh-server.ts: a P-256 serving certificate
// and the CA as its chain, TLS ≥ 1.2, a client certificate asked for but not required), clients set up as a
// proxy's stream (the CA pinned, no client certificate): the server's CPU per full handshake against one that
// resumes a session (a TLS 1.3 ticket), in alternating rounds in one run, load average beside the numbers.
//   node bench/tls-resume.mjs [handshakes per round, default 300] [rounds, default 4]
// The server runs in a child process so that its CPU is measured apart from the clients'.
import { execFileSync, fork } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { createServer } from "node:https";
import tls from "node:tls";
import { fileURLToPath } from "node:url";

const load = () => readFileSync("/proc/loadavg", "utf8").split(" ").slice(0, 3).join(" ");

if (process.argv[2] === "--server") {
  const { certPem, keyPem, caPem } = JSON.parse(process.argv[3]);
  const server = createServer(
    {
      cert: `${certPem.trim()}\n${caPem.trim()}\n`,
      key: keyPem,
      minVersion: "TLSv1.2",
      requestCert: true,
      rejectUnauthorized: false,
      ca: caPem,
    },
    (_req, res) => res.end("ok"),
  );
  server.listen(0, "127.0.0.1", () => process.send({ port: server.address().port }));
  process.on("message", () => {
    const u = process.cpuUsage();
    process.send({ cpuUs: u.user + u.system });
  });
} else {
  const [perRound = 300, rounds = 4] = process.argv.slice(2).map(Number);
  // The control plane's own CA code would need a database; the handshake only needs the same key types,
  // extensions and chain shape, which openssl makes here.
  const dir = mkdtempSync("/tmp/tls-resume-");
  const sh = (...a) => execFileSync("openssl", a, { cwd: dir, stdio: "pipe" });
  sh(
    "req",
    "-x509",
    "-newkey",
    "ec",
    "-pkeyopt",
    "ec_paramgen_curve:P-256",
    "-nodes",
    "-keyout",
    "ca.key",
    "-out",
    "ca.pem",
    "-subj",
    "/CN=Trellis mesh CA/O=bench",
    "-days",
    "1",
  );
  sh(
    "req",
    "-newkey",
    "ec",
    "-pkeyopt",
    "ec_paramgen_curve:P-256",
    "-nodes",
    "-keyout",
    "s.key",
    "-out",
    "s.csr",
    "-subj",
    "/CN=trellis-control-plane",
  );
  execFileSync(
    "sh",
    [
      "-c",
      "printf 'subjectAltName=IP:127.0.0.1\\nbasicConstraints=critical,CA:FALSE\\nkeyUsage=critical,digitalSignature,keyAgreement\\nextendedKeyUsage=serverAuth\\n' > ext",
    ],
    { cwd: dir },
  );
  sh(
    "x509",
    "-req",
    "-in",
    "s.csr",
    "-CA",
    "ca.pem",
    "-CAkey",
    "ca.key",
    "-CAcreateserial",
    "-out",
    "s.pem",
    "-days",
    "1",
    "-extfile",
    "ext",
  );
  const read = (f) => readFileSync(`${dir}/${f}`, "utf8");
  const pems = { certPem: read("s.pem"), keyPem: read("s.key"), caPem: read("ca.pem") };
  rmSync(dir, { recursive: true });
  const srv = fork(fileURLToPath(import.meta.url), ["--server", JSON.stringify(pems)]);
  const next = () => new Promise((r) => srv.once("message", r));
  const { port } = await next();
  const serverCpu = async () => (srv.send("cpu"), (await next()).cpuUs);
  let session = null;
  const handshake = (resume) =>
    new Promise((resolve, reject) => {
      const s = tls.connect({
        host: "127.0.0.1",
        port,
        ca: pems.caPem,
        ...(resume && session ? { session } : {}),
      });
      s.once("session", (t) => (session = t));
      s.once("secureConnect", () => {
        if (resume && !s.isSessionReused()) reject(new Error("not resumed"));
        // Wait for the ticket (TLS 1.3 sends it after the handshake) before closing.
        setTimeout(() => s.end(), 0);
      });
      s.on("close", () => resolve());
      s.on("error", reject);
      s.resume();
    });
  await handshake(false);
  const kinds = { "full handshake": false, "resumed (TLS 1.3 ticket)": true };
  const totals = { "full handshake": 0, "resumed (TLS 1.3 ticket)": 0 };
  for (const resume of Object.values(kinds)) for (let i = 0; i < 30; i++) await handshake(resume); // warm-up
  const loadBefore = load();
  for (let r = 0; r < rounds; r++)
    for (const [name, resume] of Object.entries(kinds)) {
      const t = await serverCpu();
      for (let i = 0; i < perRound; i++) await handshake(resume);
      totals[name] += (await serverCpu()) - t;
    }
  const n = perRound * rounds;
  const full = totals["full handshake"] / n;
  console.log(
    `\n${n} handshakes each, ${rounds} alternating rounds; load average ${loadBefore} → ${load()} (2 cores)\n`,
  );
  console.log("| handshake | server CPU per handshake (µs) | relative to full |");
  console.log("|---|---|---|");
  for (const [name, us] of Object.entries(totals))
    console.log(`| ${name} | ${Math.round(us / n)} | ${(us / n / full).toFixed(2)}x |`);
  srv.kill();
}
