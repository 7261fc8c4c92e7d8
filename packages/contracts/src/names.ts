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
