// The part of DNS (RFC 1035) the sidecar's resolver needs: read a query's header and question, and write an
// answer to it — A records for the mesh's names, an empty answer (NODATA) or an error code otherwise. Queries it
// does not answer itself are forwarded byte for byte, so nothing else of the format is parsed here.

export const TYPE_A = 1;
export const TYPE_ANY = 255;
export const CLASS_IN = 1;

export const RCODE = { noError: 0, formErr: 1, servFail: 2, nxDomain: 3, notImp: 4, refused: 5 } as const;

export interface Query {
  id: number;
  /** Bits of the header's second word the answer keeps: opcode and RD. */
  flags: number;
  opcode: number;
  /** Lowercase, without the trailing dot ("" for the root). */
  name: string;
  type: number;
  klass: number;
  /** The question section as received (echoed in the answer). */
  question: Buffer;
}

export class DnsFormatError extends Error {
  override name = "DnsFormatError";
}

/** The query's id, when the packet is long enough to have one (to answer FORMERR to a garbled query). */
export function queryId(packet: Buffer): number | null {
  return packet.length >= 2 ? packet.readUInt16BE(0) : null;
}

/** Reads a query with exactly one question. Throws DnsFormatError on anything else. */
export function parseQuery(packet: Buffer): Query {
  if (packet.length < 12) throw new DnsFormatError("shorter than a DNS header");
  const id = packet.readUInt16BE(0);
  const flags = packet.readUInt16BE(2);
  if (flags & 0x8000) throw new DnsFormatError("a response, not a query");
  const qd = packet.readUInt16BE(4);
  if (qd !== 1) throw new DnsFormatError(`${qd} questions (one is asked at a time)`);
  const labels: string[] = [];
  let at = 12;
  let length = 0;
  for (;;) {
    if (at >= packet.length) throw new DnsFormatError("question name runs past the packet");
    const n = packet[at]!;
    if (n === 0) {
      at++;
      break;
    }
    // Compression pointers (0b11…) never appear in a question that is the first name of the packet.
    if (n > 63) throw new DnsFormatError("label longer than 63 bytes, or a pointer");
    if (at + 1 + n > packet.length) throw new DnsFormatError("label runs past the packet");
    length += n + 1;
    if (length > 255) throw new DnsFormatError("name longer than 255 bytes");
    labels.push(packet.toString("latin1", at + 1, at + 1 + n).toLowerCase());
    at += 1 + n;
  }
  if (at + 4 > packet.length) throw new DnsFormatError("question has no type and class");
  const type = packet.readUInt16BE(at);
  const klass = packet.readUInt16BE(at + 2);
  return {
    id,
    flags: flags & 0x7900, // opcode (bits 11-14) and RD (bit 8)
    opcode: (flags >> 11) & 0xf,
    name: labels.join("."),
    type,
    klass,
    question: packet.subarray(12, at + 4),
  };
}

/**
 * An answer to `q`: `addresses` as A records of the question's name (a compression pointer to it), with the
 * authoritative bit set (these names are the mesh's to answer), recursion available, and `rcode`.
 */
export function answer(q: Query, rcode: number, addresses: readonly string[] = [], ttl = 30): Buffer {
  const header = Buffer.alloc(12);
  header.writeUInt16BE(q.id, 0);
  header.writeUInt16BE(0x8000 | q.flags | 0x0400 | 0x0080 | rcode, 2); // QR, opcode+RD, AA, RA, RCODE
  header.writeUInt16BE(1, 4);
  header.writeUInt16BE(addresses.length, 6);
  const records = addresses.map((ip) => {
    const r = Buffer.alloc(16);
    r.writeUInt16BE(0xc00c, 0); // the question's name, at offset 12
    r.writeUInt16BE(TYPE_A, 2);
    r.writeUInt16BE(CLASS_IN, 4);
    r.writeUInt32BE(ttl, 6);
    r.writeUInt16BE(4, 10);
    ip.split(".").forEach((o, i) => r.writeUInt8(Number(o), 12 + i));
    return r;
  });
  return Buffer.concat([header, q.question, ...records]);
}

/** A header-only error answer for a packet too garbled to parse (FORMERR with its id). */
export function formatError(id: number): Buffer {
  const header = Buffer.alloc(12);
  header.writeUInt16BE(id, 0);
  header.writeUInt16BE(0x8000 | 0x0080 | RCODE.formErr, 2);
  return header;
}
