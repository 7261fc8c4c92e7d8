// Two sidecars on real mTLS: web (caller) -> reviews (callee), each in front of its own app.
import { startProxy, type ProxyHandle } from "../index.js";
import { startApp, type TestApp } from "./apps.js";
import { TestPki, type Pem } from "../test-pki.js";

export const TD = "trellis.test";
const L0 = { address: "127.0.0.1", port: 0 };

export interface Mesh {
  pki: TestPki;
  webPem: Pem;
  reviewsPem: Pem;
  reviewsApp: TestApp;
  reviews: ProxyHandle;
  web: ProxyHandle;
  reviewsConfig(version: string, inbound?: Record<string, unknown>, pem?: Pem): Record<string, unknown>;
  webConfig(version: string, svc?: Record<string, unknown>, pem?: Pem): Record<string, unknown>;
  close(): Promise<void>;
}

export async function startMesh(opts: { pki?: TestPki } = {}): Promise<Mesh> {
  const pki = opts.pki ?? new TestPki();
  const webPem = pki.issue(TD, "shop", "web");
  const reviewsPem = pki.issue(TD, "shop", "reviews");
  const reviewsApp = await startApp("reviews-v1");
  const reviewsConfig = (version: string, inbound: Record<string, unknown> = {}, pem: Pem = reviewsPem) => ({
    version,
    identity: { namespace: "shop", service: "reviews", version: "v1", trustDomain: TD },
    tls: pem,
    inbound: { appPort: reviewsApp.port, ...inbound },
  });
  const reviews = await startProxy({
    config: reviewsConfig("r1"),
    listeners: { inbound: L0, outbound: null, admin: L0 },
    log: () => {},
  });
  const webConfig = (version: string, svc: Record<string, unknown> = {}, pem: Pem = webPem) => ({
    version,
    identity: { namespace: "shop", service: "web", version: "v3", trustDomain: TD },
    tls: pem,
    services: [
      {
        name: "reviews",
        namespace: "shop",
        endpoints: [{ address: `127.0.0.1:${reviews.addresses.inbound!.port}`, version: "v1" }],
        ...svc,
      },
    ],
  });
  const web = await startProxy({
    config: webConfig("w1"),
    listeners: { outbound: L0, inbound: null, admin: L0 },
    log: () => {},
  });
  return {
    pki,
    webPem,
    reviewsPem,
    reviewsApp,
    reviews,
    web,
    reviewsConfig,
    webConfig,
    async close() {
      await web.close();
      await reviews.close();
      await reviewsApp.close();
    },
  };
}
