// The public surface of the policy resources. Add a line here when you add a kind's folder.
export * from "./common.js";
export * from "./rate-limit.js";
export * from "./context.js";
export * from "./route/schema.js";
export * from "./route/validate.js";
export * from "./destination-policy/schema.js";
export * from "./destination-policy/validate.js";
export * from "./access-policy/schema.js";
export * from "./access-policy/validate.js";
export * from "./mesh-settings/schema.js";
export * from "./mesh-settings/validate.js";
export * from "./resource.js";
export * from "./defaults.js";
