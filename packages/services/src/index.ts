// The public surface of @trellis/services: server-only domain logic. Every function that reads or changes
// state takes the calling Actor and checks its rights itself; callers never check permissions for it.
export * from "./errors.js";
export * from "./actor.js";
export * from "./audit.js";
export * from "./passwords.js";
export * from "./tokens.js";
export * from "./users.js";
export * from "./console-sessions.js";
export * from "./registry.js";
export * from "./sign-in-limiter.js";
export * from "./join-tokens.js";
export * from "./role-bindings.js";
export * from "./users-admin.js";
export * from "./audit-log.js";
export * from "./namespace-settings.js";
export * from "./demo-faults.js";
export * from "./proxies.js";
export * from "./traces.js";
export * from "./traffic.js";
export * from "./resources.js";
export * from "./changes/index.js";
export * from "./graph.js";
export * from "./policy-suggestion.js";
export * from "./system-seed.js";
export * from "./password-sign-in.js";
export * from "./token-sign-in.js";
export * from "./health.js";
