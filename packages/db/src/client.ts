import { PrismaPg } from "@prisma/adapter-pg";
import { PrismaClient } from "./generated/prisma/client.js";

export type Db = PrismaClient;

/**
 * A Prisma client over node-postgres. One per process: it owns a connection pool. `max` is small by
 * default because the console, the control plane and the CLI each hold their own.
 */
export function createDb(url: string, opts: { max?: number } = {}): Db {
  const adapter = new PrismaPg({ connectionString: url, max: opts.max ?? 10, allowExitOnIdle: true });
  return new PrismaClient({ adapter });
}
