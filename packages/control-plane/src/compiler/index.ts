// The policy compiler: resources in force + registry snapshot → one proxy's config. Pure; the server reads the
// inputs, calls `compileProxyConfig` per proxy, hashes the result and pushes it when it changed.
export { compileProxyConfig, CompileCache, CompileError } from "./compile.js";
export type {
  CompileInput,
  RegistrySnapshot,
  RegistryService,
  RegistryWorkload,
  TargetProxy,
} from "./input.js";
export { meshDefaults, type MeshDefaults } from "./mesh-settings.js";
export { endpointProblem } from "./endpoints.js";
