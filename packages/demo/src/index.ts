// The public surface of @trellis/demo: the demo mesh `trellis up --demo` runs, and its initial state.
export { startDemo, DEFAULT_DEMO_PORT, DEFAULT_DEMO_RPS, type Demo, type DemoOptions } from "./demo.js";
export { demoResources, DEMO_NAMESPACE } from "./resources.js";
export { REVIEWS_HEADER, type ReviewsBody, type ReviewsVersion } from "./apps.js";
export type { TrafficStats } from "./traffic.js";
