// Test and benchmark helpers: a light proxy that speaks the real protocol.
// A proxy key and CSR, and the pinned CA, come from the real proxy: `@trellis/dataplane/mesh` (fetchPinnedCa,
// generateKeyAndCsr). Not re-exported here, so that the control plane does not depend on the data plane at run
// time for a test helper.
export { LightProxy, type LightProxyOptions } from "./light-proxy.js";
// The CA's key and the @peculiar/x509 workload signer, for comparing the node:crypto signer with it
// (bench/sign.mjs); the registry read every recompute makes (bench/registry-read.mjs).
export { decryptCaKey } from "./ca.js";
export { x509WorkloadSigner } from "./x509-reference.js";
export { loadRegistry } from "./registry.js";
export { prismaRegistryReference } from "./registry-reference.js";
