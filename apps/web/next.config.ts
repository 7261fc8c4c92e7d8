import type { NextConfig } from "next";
import { fileURLToPath } from "node:url";

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
    ];
  },
};

export default config;
