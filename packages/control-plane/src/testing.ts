// Test and benchmark helpers: a light proxy that speaks the real protocol.
export { LightProxy, fetchPinnedCa, generateKeyAndCsr, type LightProxyOptions } from "./light-proxy.js";
