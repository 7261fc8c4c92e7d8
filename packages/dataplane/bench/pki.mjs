// A throw-away CA and two workload certificates for the benchmark's mesh targets (bench.mjs, profile.mjs).
import { execFileSync } from "node:child_process";
import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";

/** A throw-away CA and two workload certificates (SPIFFE IDs in the URI SAN) for the mesh targets. */
export function makePki() {
  const pki = mkdtempSync(join(tmpdir(), "trellis-bench-pki-"));
  const ossl = (...a) => execFileSync("openssl", a, { cwd: pki, stdio: "ignore" });
  ossl(
    "req",
    "-x509",
    "-newkey",
    "ec",
    "-pkeyopt",
    "ec_paramgen_curve:prime256v1",
    "-nodes",
    "-keyout",
    "ca.key",
    "-out",
    "ca.crt",
    "-days",
    "1",
    "-subj",
    "/CN=bench-ca",
  );
  for (const name of ["client", "upstream"]) {
    writeFileSync(
      join(pki, `${name}.ext`),
      `subjectAltName=URI:spiffe://bench.local/ns/bench/sa/${name}\nextendedKeyUsage=serverAuth,clientAuth\n`,
    );
    ossl(
      "req",
      "-newkey",
      "ec",
      "-pkeyopt",
      "ec_paramgen_curve:prime256v1",
      "-nodes",
      "-keyout",
      `${name}.key`,
      "-out",
      `${name}.csr`,
      "-subj",
      `/CN=${name}`,
    );
    ossl(
      "x509",
      "-req",
      "-in",
      `${name}.csr`,
      "-CA",
      "ca.crt",
      "-CAkey",
      "ca.key",
      "-CAcreateserial",
      "-out",
      `${name}.crt`,
      "-days",
      "1",
      "-extfile",
      `${name}.ext`,
    );
  }

  return pki;
}
