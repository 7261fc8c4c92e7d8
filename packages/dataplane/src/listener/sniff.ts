// Looks at the first bytes of a connection to decide what speaks on it (TLS, HTTP/1, HTTP/2 prior knowledge),
// then hands the socket on with those bytes put back. Costs one 'data' event per connection, not per request.
import type { Socket } from "node:net";

export type FirstBytes = "tls" | "h2c" | "http1";

const H2_PREFACE = Buffer.from("PRI * HTTP/2.0\r\n");

export function sniff(
  socket: Socket,
  timeoutMs: number,
  then: (kind: FirstBytes, first: Buffer) => void,
): void {
  const onTimeout = () => socket.destroy();
  socket.setTimeout(timeoutMs, onTimeout);
  socket.once("error", () => socket.destroy());
  socket.once("data", (chunk: Buffer) => {
    socket.pause();
    socket.setTimeout(0);
    socket.off("timeout", onTimeout);
    socket.unshift(chunk);
    let kind: FirstBytes = "http1";
    if (chunk[0] === 0x16) kind = "tls";
    else if (
      chunk.length >= 3 &&
      chunk
        .subarray(0, Math.min(chunk.length, H2_PREFACE.length))
        .equals(H2_PREFACE.subarray(0, Math.min(chunk.length, H2_PREFACE.length)))
    )
      kind = "h2c";
    then(kind, chunk);
    // TLS and HTTP/2 sessions read the buffered bytes themselves (then consume the handle directly);
    // resuming the raw socket would steal them. Node's HTTP/1 server wants a flowing socket.
    if (kind === "http1" && !socket.destroyed) socket.resume();
  });
}
