// The public surface of @trellis/demo: the demo mesh `trellis up --demo` runs, its initial state, and each of
// its workloads on its own (`trellis demo app|traffic`, one per container in docker-compose.yml).
export { startDemo, DEFAULT_DEMO_PORT, DEFAULT_DEMO_RPS, type Demo, type DemoOptions } from "./demo.js";
export { demoResources, DEMO_NAMESPACE } from "./resources.js";
export {
  DEMO_APP_PROTOCOL,
  DEMO_APPS,
  FEED_PATH,
  isDemoApp,
  REVIEWS_HEADER,
  type DemoAppName,
  type FeedMessage,
  type ReviewsBody,
  type ReviewsVersion,
} from "./apps.js";
export { DEMO_SERVICE_PORT, type Reach } from "./reach.js";
export { DemoFaults, FAULT_MESSAGE, faultCommandsFrom, FaultSwitch, type FaultState } from "./faults.js";
export type { FeedStats, TrafficStats } from "./traffic.js";
export {
  startDemoApp,
  startTrafficWorkload,
  type DemoAppOptions,
  type RunningTraffic,
  type RunningWorkload,
  type TrafficWorkloadOptions,
} from "./workload.js";
