// The public surface of @trellis/contracts. Add a line here when you add a schema file.
export * from "./names.js";
export * from "./roles.js";
export * from "./errors.js";
export * from "./service.js";
export * from "./proxy-config.js";
export * from "./proxy-errors.js";
export * from "./mesh-stream.js";
export * from "./config-delta.js";
export * from "./resources/index.js";
export * from "./tokens.js";
export * from "./users.js";
export * from "./audit-log.js";
export * from "./namespace-settings.js";
export * from "./proxies.js";
export * from "./traffic.js";
export * from "./changes.js";
export * from "./graph.js";
