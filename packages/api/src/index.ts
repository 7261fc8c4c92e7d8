// The public surface of @trellis/api. Server-only except for the `AppRouter` type.
export { appRouter, createCaller, type AppRouter } from "./root.js";
export { openApiDocument, REST_BASE_PATH } from "./openapi.js";
export {
  handleOpenApiRequest,
  handleRestRequest,
  handleTrpcRequest,
  sessionContext,
  trustedClientAddress,
  type EdgeOptions,
} from "./http.js";
export { problem, PROBLEM_CONTENT_TYPE } from "./problem.js";
export { CHANGE_UPLOAD_BODY_LIMIT, DEFAULT_BODY_LIMIT, limitBody, withBodyLimit } from "./body-limit.js";
export type { Context } from "./trpc.js";
