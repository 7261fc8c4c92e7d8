// `@trellis/contracts/proxy`: the part of the contracts a sidecar runs — its config schema and validation, the
// control-plane stream, SPIFFE names, the proxy's error codes, capture. `trellis proxy` and @trellis/dataplane
// import this, never the package's index: the index also holds the API's and the console's schemas (resources,
// changes, users, traces, …), which cost a sidecar ~5 MB of RSS for nothing (docs/decisions/018-sidecar-memory.md;
// the dataplane's lint refuses a value import of the index). The same modules as the index's, so a value from
// either is the same value. When the proxy needs another contract, export its module here.
export * from "./proxy-config.js";
export * from "./mesh-stream.js";
export * from "./config-delta.js";
export * from "./spiffe.js";
export * from "./proxy-errors.js";
export * from "./capture.js";
export * from "./errors.js";
export * from "./net.js";
export * from "./names.js";
export * from "./http-fields.js";
export { parseDuration } from "./resources/common.js";
