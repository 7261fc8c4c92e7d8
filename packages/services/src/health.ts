import type { Db } from "@trellis/db";

/** Resolves when the database answers a trivial query; rejects otherwise. For readiness checks. */
export async function pingDatabase(db: Db): Promise<void> {
  await db.$queryRaw`SELECT 1`;
}
