// The benchmarks (npm run bench:graph): the e2e run's stack (global-setup.ts starts `trellis up` on a fresh
// database) and browser, with benchmark files instead of journeys, and room for slow runs.
import { defineConfig } from "@playwright/test";
import base from "../playwright.config";

export default defineConfig({
  ...base,
  testDir: ".",
  testMatch: "*.bench.ts",
  globalSetup: "../global-setup.ts",
  timeout: 900_000,
  reporter: [["list"]],
  use: { ...base.use, trace: "off", screenshot: "off" },
});
