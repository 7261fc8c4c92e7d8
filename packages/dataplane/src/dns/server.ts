// The sidecar's resolver (a pod's /etc/resolv.conf points at it): it answers the mesh's service names with their
// virtual IPs (`reviews.shop`, `reviews.shop.svc`, `reviews.shop.svc.cluster.local`, and bare `reviews` in the
// workload's own namespace) and forwards every other name, byte for byte, to the upstream resolvers. Names under
// `svc` and `svc.cluster.local` that are no service are answered NXDOMAIN here: the mesh owns those zones, and
// they do not leak upstream. UDP and TCP (RFC 7766), on one address and port.
import dgram from "node:dgram";
import net from "node:net";
import {
  answer,
  DnsFormatError,
  formatError,
  parseQuery,
  queryId,
  RCODE,
  TYPE_A,
  TYPE_ANY,
  CLASS_IN,
  type Query,
} from "./packet.js";

export interface Upstream {
  host: string;
  port: number;
}

/** How each query ended, for the proxy's counters. */
export type DnsOutcome = "mesh" | "nxdomain" | "forwarded" | "failed" | "refused";

export interface DnsServerOptions {
  address: string;
  port: number;
  /** The VIP of a mesh name in force now (lowercase, no trailing dot); undefined: not a mesh name. */
  lookup(name: string): string | undefined;
  /** Resolvers other names go to, tried in order. None: other names fail (SERVFAIL). */
  upstreams: readonly Upstream[];
  /** TTL of the mesh's answers (VIPs are stable; short enough that a deleted service goes soon). Default 30 s. */
  ttlSeconds?: number;
  /** How long one upstream has to answer before the next is tried. Default 2 s. */
  upstreamTimeoutMs?: number;
  onQuery?(outcome: DnsOutcome): void;
}

export interface DnsServer {
  readonly address: { host: string; port: number };
  close(): Promise<void>;
}

/** Zones the mesh answers for alone: an unknown name in them is NXDOMAIN, never asked upstream. */
const MESH_ZONES = [".svc", ".svc.cluster.local"];

export async function startDnsServer(opts: DnsServerOptions): Promise<DnsServer> {
  const ttl = opts.ttlSeconds ?? 30;
  const timeoutMs = opts.upstreamTimeoutMs ?? 2_000;
  const count = (o: DnsOutcome) => opts.onQuery?.(o);

  /** The answer to a query, or null: forward it. */
  function local(packet: Buffer): Buffer | null {
    let q: Query;
    try {
      q = parseQuery(packet);
    } catch (e) {
      if (!(e instanceof DnsFormatError)) throw e;
      const id = queryId(packet);
      count("refused");
      return id === null ? Buffer.alloc(0) : formatError(id);
    }
    if (q.opcode !== 0) {
      count("refused");
      return answer(q, RCODE.notImp);
    }
    const vip = q.klass === CLASS_IN ? opts.lookup(q.name) : undefined;
    if (vip !== undefined) {
      count("mesh");
      // A name that exists with no record of the asked type (AAAA, MX, …) is NODATA: clients fall back to A.
      return answer(q, RCODE.noError, q.type === TYPE_A || q.type === TYPE_ANY ? [vip] : [], ttl);
    }
    if (MESH_ZONES.some((z) => q.name.endsWith(z))) {
      count("nxdomain");
      return answer(q, RCODE.nxDomain);
    }
    return null;
  }

  const newUdp = () => {
    const socket = dgram.createSocket({ type: "udp4" });
    socket.on("message", (packet, from) => onUdp(socket, packet, from));
    socket.on("error", () => {});
    return socket;
  };
  const onUdp = (udp: dgram.Socket, packet: Buffer, from: dgram.RemoteInfo) => {
    const reply = local(packet);
    if (reply !== null) {
      if (reply.length > 0) udp.send(reply, from.port, from.address);
      return;
    }
    void forwardUdp(packet, opts.upstreams, timeoutMs).then((r) => {
      count(r === null ? "failed" : "forwarded");
      udp.send(r ?? servFail(packet), from.port, from.address);
    });
  };
  let udp = newUdp();

  const tcp = net.createServer((socket) => {
    socket.setTimeout(10_000, () => socket.destroy());
    socket.on("error", () => socket.destroy());
    let buffered = Buffer.alloc(0);
    socket.on("data", (chunk: Buffer) => {
      buffered = Buffer.concat([buffered, chunk]);
      while (buffered.length >= 2) {
        const n = buffered.readUInt16BE(0);
        if (buffered.length < 2 + n) break;
        const packet = buffered.subarray(2, 2 + n);
        buffered = buffered.subarray(2 + n);
        const reply = local(packet);
        if (reply !== null) {
          if (reply.length > 0) socket.write(framed(reply));
          continue;
        }
        void forwardForTcp(packet, opts.upstreams, timeoutMs).then((r) => {
          count(r === null ? "failed" : "forwarded");
          if (!socket.destroyed) socket.write(framed(r ?? servFail(packet)));
        });
      }
    });
  });

  // UDP and TCP on one port. With port 0 the UDP socket picks it, and TCP may find it taken by another
  // program's connection: then both try again (a few times) on a new one.
  let port = 0;
  for (let attempt = 1; ; attempt++) {
    await new Promise<void>((resolve, reject) => {
      udp.once("error", reject);
      udp.bind(opts.port, opts.address, () => {
        udp.off("error", reject);
        resolve();
      });
    });
    port = udp.address().port;
    try {
      await new Promise<void>((resolve, reject) => {
        tcp.once("error", reject);
        tcp.listen(port, opts.address, () => {
          tcp.off("error", reject);
          resolve();
        });
      });
      break;
    } catch (e) {
      await new Promise<void>((r) => udp.close(() => r()));
      const taken = (e as NodeJS.ErrnoException).code === "EADDRINUSE";
      if (opts.port !== 0 || !taken || attempt === 5) throw e;
      udp = newUdp();
    }
  }
  return {
    address: { host: opts.address, port },
    close: async () => {
      await Promise.all([
        new Promise<void>((r) => udp.close(() => r())),
        new Promise<void>((r) => tcp.close(() => r())),
      ]);
    },
  };
}

function framed(packet: Buffer): Buffer {
  const len = Buffer.alloc(2);
  len.writeUInt16BE(packet.length, 0);
  return Buffer.concat([len, packet]);
}

/** SERVFAIL for a query that could not be forwarded (the question is kept when it parses). */
function servFail(packet: Buffer): Buffer {
  try {
    return answer(parseQuery(packet), RCODE.servFail);
  } catch {
    return formatError(queryId(packet) ?? 0);
  }
}

/** Asks each upstream in turn over UDP; the first answer with the query's id wins. Null: none answered. */
async function forwardUdp(
  packet: Buffer,
  upstreams: readonly Upstream[],
  timeoutMs: number,
): Promise<Buffer | null> {
  const id = packet.readUInt16BE(0);
  for (const u of upstreams) {
    const reply = await new Promise<Buffer | null>((resolve) => {
      const s = dgram.createSocket(net.isIPv6(u.host) ? "udp6" : "udp4");
      const done = (r: Buffer | null) => {
        clearTimeout(timer);
        s.close();
        resolve(r);
      };
      const timer = setTimeout(() => done(null), timeoutMs);
      s.on("error", () => done(null));
      s.on("message", (m, from) => {
        if (from.port === u.port && m.length >= 2 && m.readUInt16BE(0) === id) done(m);
      });
      s.send(packet, u.port, u.host);
    });
    if (reply !== null) return reply;
  }
  return null;
}

/**
 * A query that came over TCP: asked over UDP first (every resolver answers there), again over TCP when the
 * answer was truncated (TC), since the client chose TCP to get it whole.
 */
async function forwardForTcp(
  packet: Buffer,
  upstreams: readonly Upstream[],
  timeoutMs: number,
): Promise<Buffer | null> {
  const r = await forwardUdp(packet, upstreams, timeoutMs);
  const truncated = r !== null && r.length >= 4 && (r.readUInt16BE(2) & 0x0200) !== 0;
  return truncated ? ((await forwardTcp(packet, upstreams, timeoutMs)) ?? r) : r;
}

/** Asks each upstream in turn over TCP. Null: none answered. */
async function forwardTcp(
  packet: Buffer,
  upstreams: readonly Upstream[],
  timeoutMs: number,
): Promise<Buffer | null> {
  for (const u of upstreams) {
    const reply = await new Promise<Buffer | null>((resolve) => {
      const c = net.connect({ host: u.host, port: u.port });
      let got = Buffer.alloc(0);
      const done = (r: Buffer | null) => {
        clearTimeout(timer);
        c.destroy();
        resolve(r);
      };
      const timer = setTimeout(() => done(null), timeoutMs);
      c.on("error", () => done(null));
      c.on("connect", () => c.write(framed(packet)));
      c.on("data", (d: Buffer) => {
        got = Buffer.concat([got, d]);
        if (got.length >= 2 && got.length >= 2 + got.readUInt16BE(0))
          done(got.subarray(2, 2 + got.readUInt16BE(0)));
      });
      c.on("end", () => done(null));
    });
    if (reply !== null) return reply;
  }
  return null;
}
