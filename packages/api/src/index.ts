// The public surface of @trellis/api. Server-only except for the `AppRouter` type.
export { appRouter, createCaller, type AppRouter } from "./root.js";
export { openApiDocument, REST_BASE_PATH } from "./openapi.js";
export { handleRestRequest, handleTrpcRequest, trustedClientAddress, type EdgeOptions } from "./http.js";
export type { Context } from "./trpc.js";
