import type { NextConfig } from "next";
import { fileURLToPath } from "node:url";
import { API_CONTENT_SECURITY_POLICY } from "./lib/csp";
import { ACCEPTS_GZIP, GZIPPED_ROUTES } from "./lib/gzip";

const config: NextConfig = {
  // Server packages run as plain Node modules, not bundled: Prisma's WASM engine, argon2's native addon
  // and pg do not survive bundling, and they are already compiled.
  serverExternalPackages: [
    "@trellis/api",
    "@trellis/services",
    "@trellis/db",
    "@prisma/client",
    "argon2",
    "pg",
  ],
  outputFileTracingRoot: fileURLToPath(new URL("../..", import.meta.url)),
  // `npm run check` (and CI) type-checks the console with the rest of the repo; checking again inside every
  // `next build` took a third of `npm start`'s first build (2.2 of 6.6 min on a loaded 2-core machine).
  typescript: { ignoreBuildErrors: true },
  poweredByHeader: false,
  reactStrictMode: true,
  typedRoutes: false,
  async headers() {
    return [
      {
        source: "/:path*",
        headers: [
          { key: "X-Content-Type-Options", value: "nosniff" },
          { key: "X-Frame-Options", value: "DENY" },
          { key: "Referrer-Policy", value: "same-origin" },
        ],
      },
      // Pages get a policy with a fresh nonce from proxy.ts; API answers are never rendered.
      {
        source: "/api/:path*",
        headers: [{ key: "Content-Security-Policy", value: API_CONTENT_SECURITY_POLICY }],
      },
      // The header half of the API's gzip; the handlers (wrapped in `gzipped`) compress on the same condition.
      ...GZIPPED_ROUTES.map((source) => ({
        source,
        has: [{ type: "header" as const, key: "accept-encoding", value: ACCEPTS_GZIP }],
        headers: [{ key: "Content-Encoding", value: "gzip" }],
      })),
    ];
  },
};

export default config;
