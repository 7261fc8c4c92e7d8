// The public surface of @trellis/dataplane. The CLI and the control-plane client drive a proxy through this.
export { startProxy, ProxyStartError, DEFAULT_LISTENERS } from "./proxy.js";
export type { StartProxyOptions, ProxyHandle, ApplyResult, BoundAddress } from "./proxy.js";
export { loadConfigFile } from "./config/load.js";
export {
  installCapture,
  removeCapture,
  removeCaptureSync,
  natRules,
  CaptureError,
} from "./capture/install.js";
export { captureAddonError } from "./capture/original-dst.js";
export { quickConfig, type QuickOptions } from "./config/quick.js";
