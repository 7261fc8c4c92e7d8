export {
  DEFAULT_STREAM_TIMEOUT_MS,
  startMeshProxy,
  type MeshProxy,
  type MeshProxyOptions,
} from "./client.js";
export { fetchPinnedCa, generateKeyAndCsr, MeshJoinError } from "./identity.js";
