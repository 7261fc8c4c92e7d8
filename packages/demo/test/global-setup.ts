// One migrated database for this package's test run (see @trellis/db/testing), handed to tests via inject().
import type { TestProject } from "vitest/node";
import { createTestDatabase } from "@trellis/db/testing";

declare module "vitest" {
  export interface ProvidedContext {
    databaseUrl: string;
  }
}

export default async function setup(project: TestProject) {
  const tdb = await createTestDatabase("demo");
  project.provide("databaseUrl", tdb.url);
  return () => tdb.drop();
}
