// A throw-away CA and two workload certificates for the benchmark's mesh targets (bench.mjs, profile.mjs),
// from the tests' TestPki: each written as <name>.crt and <name>.key beside ca.crt, where servers.mjs reads
// them.
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { TestPki } from "@trellis/dataplane/testing";

/** The PKI's directory: ca.crt, and client and upstream certificates (SPIFFE IDs in the URI SAN). */
export function makePki() {
  const pki = new TestPki("bench-ca");
  for (const name of ["client", "upstream"]) {
    const { certPem, keyPem } = pki.issue("bench.local", "bench", name);
    writeFileSync(join(pki.dir, `${name}.crt`), certPem);
    writeFileSync(join(pki.dir, `${name}.key`), keyPem);
  }
  return pki.dir;
}
