import { z } from "zod";

/**
 * Names of namespaces, services, versions and resources follow Kubernetes' DNS-1123 label rules, so that
 * everything a user names in Trellis can also be a hostname, a SPIFFE path segment and a Prometheus label.
 */
const LABEL = "[a-z0-9](?:[-a-z0-9]{0,61}[a-z0-9])?";

export const ZDnsLabel = z
  .string()
  .min(1, "must not be empty")
  .max(63, "must be at most 63 characters")
  .regex(
    /^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/,
    "must be lowercase letters, digits and '-', starting and ending with a letter or digit",
  );

export const ZNamespace = ZDnsLabel;
export const ZServiceName = ZDnsLabel;
/** Workload versions are labels such as `v1`, `v2`, `canary`. */
export const ZVersion = ZDnsLabel;

/**
 * Names telemetry and the console give to what has no name: a caller without a mesh identity is
 * `unknown/unknown`, a request that reached no version reached `unknown`. A namespace, service or version that
 * took one of these would be counted as nobody, so they cannot be created (join tokens, resources, namespace
 * settings) or announced (a proxy's hello). Names read back (filters, telemetry rows) still accept them.
 */
export const RESERVED_NAMES: readonly string[] = ["unknown"];

const RESERVED = `is reserved: telemetry's name for what it cannot name (${RESERVED_NAMES.map((n) => `"${n}"`).join(", ")})`;
const notReserved = (s: string) => !RESERVED_NAMES.includes(s);

/** A namespace being created or joined (join tokens, resources, namespace settings, a proxy's hello). */
export const ZNewNamespace = ZNamespace.refine(notReserved, `the namespace name ${RESERVED}`);
/** A service being created or joined. */
export const ZNewServiceName = ZServiceName.refine(notReserved, `the service name ${RESERVED}`);
/** A workload version a proxy announces. */
export const ZNewVersion = ZVersion.refine(notReserved, `the version ${RESERVED}`);

/**
 * A service named across namespaces, `namespace/service`: how a list of services fits in a query string
 * (`?services=shop/reviews&services=shop/web`) and how series keys name a calling service.
 */
export const ZQualifiedServiceName = z
  .string()
  .regex(new RegExp(`^${LABEL}/${LABEL}$`), "must be namespace/service, e.g. shop/reviews");

/** A user's login name: what they type at sign-in. */
export const ZUserName = z
  .string()
  .min(2, "must be at least 2 characters")
  .max(64, "must be at most 64 characters")
  .regex(/^[a-zA-Z0-9][a-zA-Z0-9._@-]*$/, "may contain letters, digits, '.', '_', '@' and '-'");

export const ZPassword = z
  .string()
  .min(12, "must be at least 12 characters")
  .max(256, "must be at most 256 characters");
