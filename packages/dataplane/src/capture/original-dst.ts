// The address a captured connection was dialled to (SO_ORIGINAL_DST), read through the data plane's native
// addon (native/original-dst.c, built into dist/native by scripts/build-native.mjs). Loaded on first use: a
// proxy without capture never needs it, and a machine where it could not be built runs everything else.
import { createRequire } from "node:module";
import type { Socket } from "node:net";

export interface OriginalDst {
  address: string;
  port: number;
  family: 4 | 6;
}

interface Addon {
  originalDst(fd: number): OriginalDst | null;
}

let addon: Addon | null = null;
let loadError: string | null = null;

/** Loads the addon; returns why it cannot be used, or null when it can. */
export function captureAddonError(): string | null {
  if (addon !== null) return null;
  if (loadError !== null) return loadError;
  try {
    // dist/capture/original-dst.js → dist/native/original-dst.node
    addon = createRequire(import.meta.url)("../native/original-dst.node") as Addon;
    return null;
  } catch (e) {
    loadError = `the capture addon is not built (${(e as Error).message.split("\n")[0]}); rebuild with \`npm run build -w @trellis/dataplane\` on Linux with a C compiler`;
    return loadError;
  }
}

/**
 * Where `socket` was dialled to before it was redirected here; null when it was dialled here directly (the
 * address is this listener's own) or the kernel keeps no record of it.
 */
export function originalDst(socket: Socket): OriginalDst | null {
  if (captureAddonError() !== null) return null;
  const fd = (socket as Socket & { _handle?: { fd?: number } })._handle?.fd;
  if (typeof fd !== "number" || fd < 0) return null;
  const dst = addon!.originalDst(fd);
  if (dst === null) return null;
  if (dst.port === socket.localPort && sameAddress(dst.address, socket.localAddress)) return null;
  return dst;
}

function sameAddress(a: string, b: string | undefined): boolean {
  if (b === undefined) return false;
  return a === b || `::ffff:${a}` === b;
}
