export {
  startControlPlane,
  type ControlPlane,
  type ControlPlaneOptions,
  type ControlPlaneStats,
} from "./server.js";
export { MeshCa, caFingerprint, spiffeId } from "./ca.js";
export type { CompileFn, CompileInput, ResourceRecord } from "./snapshots.js";
export type { RegistrySnapshot, RegistryService, RegistryWorkload } from "./registry.js";
export { meshCompiler } from "./mesh-compiler.js";
