// The little DER the mesh CA needs to sign workload certificates with node:crypto: write a TBSCertificate and
// read a PKCS#10 request. Not a general ASN.1 library: definite lengths only (DER has no other), one tag byte
// (every tag X.509 and PKCS#10 use here is below 31), and the reader refuses anything it does not expect
// rather than guessing. @peculiar/x509's object model did this at ~10 ms per certificate (decision 019).

export class DerError extends Error {
  override name = "DerError";
}

/** Tags used by the CA (universal, and the context-specific ones of X.509 and PKCS#10). */
export const TAG = {
  boolean: 0x01,
  integer: 0x02,
  bitString: 0x03,
  octetString: 0x04,
  oid: 0x06,
  utcTime: 0x17,
  generalizedTime: 0x18,
  sequence: 0x30,
  set: 0x31,
} as const;

function lengthBytes(n: number): Buffer {
  if (n < 0x80) return Buffer.from([n]);
  const bytes: number[] = [];
  for (let v = n; v > 0; v = Math.floor(v / 256)) bytes.unshift(v & 0xff);
  return Buffer.from([0x80 | bytes.length, ...bytes]);
}

/** One TLV: `tag`, the length of the contents, the contents. */
export function tlv(tag: number, ...contents: Buffer[]): Buffer {
  const body = contents.length === 1 ? contents[0]! : Buffer.concat(contents);
  return Buffer.concat([Buffer.from([tag]), lengthBytes(body.length), body]);
}

export const seq = (...items: Buffer[]): Buffer => tlv(TAG.sequence, ...items);

/** A non-negative INTEGER from its big-endian magnitude, minimally encoded as DER requires. */
export function unsignedInteger(magnitude: Buffer): Buffer {
  let i = 0;
  while (i < magnitude.length - 1 && magnitude[i] === 0) i++;
  const m = magnitude.subarray(i);
  return tlv(TAG.integer, m[0]! & 0x80 ? Buffer.concat([Buffer.from([0]), m]) : m);
}

/** An OBJECT IDENTIFIER from its dotted form. */
export function oid(dotted: string): Buffer {
  const arcs = dotted.split(".").map(Number);
  const out = [40 * arcs[0]! + arcs[1]!];
  for (const arc of arcs.slice(2)) {
    const sub = [arc & 0x7f];
    for (let v = Math.floor(arc / 128); v > 0; v = Math.floor(v / 128)) sub.unshift(0x80 | (v & 0x7f));
    out.push(...sub);
  }
  return tlv(TAG.oid, Buffer.from(out));
}

/** RFC 5280 4.1.2.5: UTCTime through 2049, GeneralizedTime from 2050; seconds, always Zulu. */
export function time(d: Date): Buffer {
  const iso = d.toISOString(); // YYYY-MM-DDTHH:MM:SS.sssZ
  const digits =
    iso.slice(0, 4) +
    iso.slice(5, 7) +
    iso.slice(8, 10) +
    iso.slice(11, 13) +
    iso.slice(14, 16) +
    iso.slice(17, 19);
  const year = d.getUTCFullYear();
  return year < 2050
    ? tlv(TAG.utcTime, Buffer.from(`${digits.slice(2)}Z`, "latin1"))
    : tlv(TAG.generalizedTime, Buffer.from(`${digits}Z`, "latin1"));
}

/** A BIT STRING whose bits fill whole bytes (signatures, public keys). */
export const bitString = (bytes: Buffer): Buffer => tlv(TAG.bitString, Buffer.from([0]), bytes);

/** A TLV read from a DER buffer: `raw` is the whole encoding, `body` its contents. */
export interface Tlv {
  tag: number;
  raw: Buffer;
  body: Buffer;
}

/** Reads the TLV at `offset` of `buf`, which must hold it whole; DER's minimal lengths are enforced. */
export function readTlv(buf: Buffer, offset = 0): Tlv {
  if (offset + 2 > buf.length) throw new DerError("truncated");
  const tag = buf[offset]!;
  if ((tag & 0x1f) === 0x1f) throw new DerError("multi-byte tags are not expected here");
  let len = buf[offset + 1]!;
  let head = 2;
  if (len & 0x80) {
    const n = len & 0x7f;
    if (n === 0 || n > 4) throw new DerError("indefinite or oversized length");
    if (offset + 2 + n > buf.length) throw new DerError("truncated");
    if (buf[offset + 2] === 0) throw new DerError("non-minimal length");
    len = 0;
    for (let i = 0; i < n; i++) len = len * 256 + buf[offset + 2 + i]!;
    if (len < 0x80) throw new DerError("non-minimal length");
    head += n;
  }
  const end = offset + head + len;
  if (end > buf.length) throw new DerError("truncated");
  return { tag, raw: buf.subarray(offset, end), body: buf.subarray(offset + head, end) };
}

/** The TLVs that make up `body` (a SEQUENCE's or SET's contents), all of it. */
export function children(body: Buffer): Tlv[] {
  const out: Tlv[] = [];
  for (let at = 0; at < body.length;) {
    const t = readTlv(body, at);
    out.push(t);
    at += t.raw.length;
  }
  return out;
}

/** Reads `buf` as exactly one TLV of `tag`: nothing before, nothing after. */
export function readOnly(buf: Buffer, tag: number): Tlv {
  const t = readTlv(buf);
  if (t.tag !== tag) throw new DerError(`expected tag 0x${tag.toString(16)}, found 0x${t.tag.toString(16)}`);
  if (t.raw.length !== buf.length) throw new DerError("trailing bytes");
  return t;
}
