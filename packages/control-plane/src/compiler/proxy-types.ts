import type { ProxyConfigInput } from "@trellis/contracts";

// Proxy config pieces as the compiler writes them (before defaults). Derived from the contract so that a change
// there is a compile error here. When to edit this file: never by hand beyond adding an alias.
export type OutboundServiceInput = NonNullable<ProxyConfigInput["services"]>[number];
export type RouteInput = NonNullable<OutboundServiceInput["routes"]>[number];
export type EndpointInput = NonNullable<OutboundServiceInput["endpoints"]>[number];
export type DestinationPolicyInput = NonNullable<OutboundServiceInput["policy"]>;
export type InboundInput = NonNullable<ProxyConfigInput["inbound"]>;
export type AuthorizationRuleInput = NonNullable<InboundInput["authorization"]>[number];
export type RateLimitInput = NonNullable<InboundInput["rateLimit"]>;
export type RetryPolicyInput = NonNullable<RouteInput["retries"]>;
export type RouteMatchInput = NonNullable<RouteInput["match"]>;
export type HeaderEditsInput = NonNullable<RouteInput["requestHeaders"]>;
