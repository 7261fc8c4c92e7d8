export { startMeshProxy, type MeshProxy, type MeshProxyOptions } from "./client.js";
export { fetchPinnedCa, generateKeyAndCsr, MeshJoinError } from "./identity.js";
