// Quick mode (`trellis proxy --listen … --to …`): a plain reverse proxy in front of one upstream, with the
// sidecar's telemetry and no control plane. Its config is built here so the CLI and the tests that prove it
// (the gRPC interop suite) run the very same thing.
import type { AppProtocol, ProxyConfigInput } from "@trellis/contracts/proxy";

export interface QuickOptions {
  /** The upstream, `host:port`. */
  to: string;
  /** How the upstream speaks; the caller may speak either. Default HTTP/1.1. */
  upstreamProtocol?: AppProtocol;
}

export function quickConfig(opts: QuickOptions): ProxyConfigInput {
  return {
    version: "quick",
    identity: { namespace: "default", service: "quick", version: "v1", trustDomain: "trellis.local" },
    services: [
      {
        name: "upstream",
        namespace: "default",
        hosts: ["*"],
        mtls: false,
        appProtocol: opts.upstreamProtocol ?? "http1",
        endpoints: [{ address: opts.to }],
      },
    ],
  };
}
