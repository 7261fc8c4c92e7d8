export {
  startControlPlane,
  CONFIG_CHANGED_CHANNEL,
  type ControlPlane,
  type ControlPlaneOptions,
} from "./server.js";
