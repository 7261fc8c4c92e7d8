#!/usr/bin/env node
// Workload certificate signing, µs of CPU per certificate: the node:crypto signer the CA uses (verify the
// request, write the TBSCertificate, sign) against the @peculiar/x509 path it replaced (decision 019), both
// with the same CA key and requests, in alternating rounds in this one process so that the machine's load
// (other sessions share its cores; printed beside the numbers) weighs on both alike.
//   node bench/sign.mjs [certificates per round, default 200] [rounds, default 5]   (needs DATABASE_URL)
import { readFileSync } from "node:fs";
import { createTestDatabase } from "@trellis/db/testing";
import { createDb } from "@trellis/db";
import { generateKeyAndCsr } from "@trellis/dataplane/mesh";
import { MeshCa } from "@trellis/control-plane";
import { decryptCaKey, x509WorkloadSigner } from "@trellis/control-plane/testing";

const [perRound = 200, rounds = 5] = process.argv.slice(2).map(Number);
const SECRET = "bench-secret-bench-secret-bench-secret-0";
const load = () => readFileSync("/proc/loadavg", "utf8").split(" ").slice(0, 3).join(" ");
const cpuUs = () => {
  const u = process.cpuUsage();
  return u.user + u.system;
};

const tdb = await createTestDatabase("bench-sign");
const db = createDb(tdb.url, { max: 1 });
try {
  const ca = await MeshCa.loadOrCreate(db, { secret: SECRET, trustDomain: "bench.local" });
  const row = await db.certificateAuthority.findFirstOrThrow({ where: { fingerprint: ca.fingerprint } });
  const old = await x509WorkloadSigner(ca.certPem, decryptCaKey(Buffer.from(row.encryptedKey), SECRET));
  const csrs = await Promise.all(
    Array.from({ length: perRound }, () => generateKeyAndCsr().then((k) => k.csrPem)),
  );
  const id = "spiffe://bench.local/ns/bench/sa/svc-1";
  const signers = {
    "node:crypto (now)": (csr) => ca.signWorkload(csr, id, 3_600_000),
    "@peculiar/x509 (before)": (csr) => old(csr, id, 3_600_000, "5f0e8c7d6b5a49382716051423324150"),
  };
  const totals = Object.fromEntries(Object.keys(signers).map((k) => [k, 0]));
  // One warm-up round each (JIT, lazy module state), not counted.
  for (const sign of Object.values(signers)) for (const csr of csrs.slice(0, 20)) await sign(csr);
  const loadBefore = load();
  for (let r = 0; r < rounds; r++)
    for (const [name, sign] of Object.entries(signers)) {
      const t = cpuUs();
      for (const csr of csrs) await sign(csr);
      totals[name] += cpuUs() - t;
    }
  const n = perRound * rounds;
  const [now, before] = Object.values(totals).map((us) => us / n);
  console.log(
    `\n${n} certificates each, ${rounds} alternating rounds; load average ${loadBefore} → ${load()} (2 cores)\n`,
  );
  console.log("| signer | CPU per certificate (µs) | relative to @peculiar/x509 |");
  console.log("|---|---|---|");
  for (const [name, us] of Object.entries(totals))
    console.log(`| ${name} | ${Math.round(us / n)} | ${(us / n / before).toFixed(3)}x |`);
  console.log(`\nnode:crypto is ${(before / now).toFixed(1)}x cheaper per certificate.`);
} finally {
  await db.$disconnect();
  await tdb.drop();
}
