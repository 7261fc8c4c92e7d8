// Every name a bed gives to something it creates, in one place, so that destroy, sweep and `list` find
// exactly what was made. A bed's own objects are "tpb" (Trellis pod bed) + the bed's id + a suffix; Linux
// caps interface names at 15 characters (IFNAMSIZ 16 with the NUL), which the longest, a pod's link with a
// five-digit sequence number, just fits: tpb + 6 + p + 5. Pods' namespaces are named by the caller (the
// demo's `trellis-demo-reviews-v2`); their eth0 carries the bed's tag as its interface alias, which is how a
// sweep tells a pod of a dead bed from a namespace that merely has the same name.
import { randomBytes } from "node:crypto";
import { PodsError } from "./errors.js";

export const PREFIX = "tpb";
const ID_LENGTH = 6;
const MAX_SEQ = 99_999;

export function newBedId(): string {
  return randomBytes(ID_LENGTH / 2).toString("hex");
}

export function isBedId(id: string): boolean {
  return /^[0-9a-f]{6}$/.test(id);
}

/** The bed's own network namespace, which holds the bridge and the bed's end of every pod's veth. */
export const bedNetns = (id: string) => `${PREFIX}${id}`;
/** The bridge, inside the bed's namespace. */
export const bridgeName = (id: string) => `${PREFIX}${id}br`;
/** The root namespace's end of the gateway veth: it holds the gateway address. The only link in the root. */
export const gatewayLink = (id: string) => `${PREFIX}${id}gw`;
/** The gateway veth's other end, a port of the bridge. */
export const gatewayPeer = (id: string) => `${PREFIX}${id}gb`;
/** The bed's end of pod number `seq`'s veth, a port of the bridge (the pod's end is `eth0`). */
export function podLink(id: string, seq: number): string {
  if (!Number.isInteger(seq) || seq < 1 || seq > MAX_SEQ) {
    throw new PodsError("PODS_EXHAUSTED", `bed ${id} has created ${MAX_SEQ} pods; create a new bed`);
  }
  return `${PREFIX}${id}p${seq}`;
}
/** The interface alias on a pod's eth0 and the bed's links: who made them. */
export const ownerTag = (id: string) => `trellis-pods:${id}`;

/**
 * A pod's name is its network namespace's name, and a directory under /etc/netns: lowercase letters, digits,
 * dots and dashes, starting and ending with a letter or digit, at most 63 characters (a DNS label, so it can
 * also name the pod in DNS later). Names starting with the bed prefix are reserved for beds.
 */
export function validatePodName(name: string): void {
  if (typeof name !== "string" || !/^[a-z0-9]([a-z0-9.-]{0,61}[a-z0-9])?$/.test(name)) {
    throw new PodsError(
      "PODS_INVALID",
      `pod name ${JSON.stringify(name)}: use 1-63 lowercase letters, digits, "." and "-", starting and ending with a letter or digit`,
    );
  }
  if (name.startsWith(PREFIX)) {
    throw new PodsError(
      "PODS_INVALID",
      `pod name ${name}: names starting with "${PREFIX}" are the beds' own`,
    );
  }
}

/** A host label: the same rule as a pod name (it often is one), without the reserved prefix check. */
export function validateHostLabel(host: string): void {
  if (typeof host !== "string" || !/^[a-z0-9]([a-z0-9.-]{0,61}[a-z0-9])?$/.test(host)) {
    throw new PodsError(
      "PODS_INVALID",
      `host ${JSON.stringify(host)}: use 1-63 lowercase letters, digits, "." and "-", starting and ending with a letter or digit`,
    );
  }
}
