// Test PKI made with the openssl CLI: a mesh CA and leaf certificates whose URI SAN is a SPIFFE ID. For
// tests and the benchmark (bench/pki.mjs), through `@trellis/dataplane/testing`; the proxy never imports it.
import { execFileSync } from "node:child_process";
import { mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";

export interface Pem {
  certPem: string;
  keyPem: string;
  caPem: string;
}

export class TestPki {
  readonly dir = mkdtempSync(join(tmpdir(), "trellis-pki-"));
  readonly caPem: string;
  private n = 0;
  constructor(name = "trellis-test-ca") {
    this.run([
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
      "2",
      "-subj",
      `/CN=${name}`,
    ]);
    this.caPem = readFileSync(join(this.dir, "ca.crt"), "utf8");
  }
  private run(args: string[]): void {
    execFileSync("openssl", args, { cwd: this.dir, stdio: "pipe" });
  }
  /** A workload certificate for `spiffe://<td>/ns/<ns>/sa/<service>`. */
  issue(trustDomain: string, ns: string, service: string): Pem {
    const id = `w${this.n++}`;
    writeFileSync(
      join(this.dir, `${id}.ext`),
      `subjectAltName=URI:spiffe://${trustDomain}/ns/${ns}/sa/${service}\nbasicConstraints=CA:FALSE\nkeyUsage=digitalSignature,keyEncipherment\nextendedKeyUsage=serverAuth,clientAuth\n`,
    );
    this.run([
      "req",
      "-newkey",
      "ec",
      "-pkeyopt",
      "ec_paramgen_curve:prime256v1",
      "-nodes",
      "-keyout",
      `${id}.key`,
      "-out",
      `${id}.csr`,
      "-subj",
      `/CN=${service}`,
    ]);
    this.run([
      "x509",
      "-req",
      "-in",
      `${id}.csr`,
      "-CA",
      "ca.crt",
      "-CAkey",
      "ca.key",
      "-CAcreateserial",
      "-out",
      `${id}.crt`,
      "-days",
      "2",
      "-extfile",
      `${id}.ext`,
    ]);
    return {
      certPem: readFileSync(join(this.dir, `${id}.crt`), "utf8"),
      keyPem: readFileSync(join(this.dir, `${id}.key`), "utf8"),
      caPem: this.caPem,
    };
  }
}
