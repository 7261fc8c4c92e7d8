export { trellisHome, meshSecret, deriveKey } from "./home.js";
// Pods' processes, as `trellis up --demo --pods` starts them: for the capture benchmark (bench/capture.mjs).
export {
  podResolvConf,
  podSidecarArgs,
  SIDECAR_READY,
  startInPod,
  stopPodProcesses,
  TRELLIS_BIN,
  type PodProcess,
  type PodProcessOptions,
  type PodSidecar,
} from "./run/pod-processes.js";
