import pg from "pg";

/** A database problem explained in one line, for people rather than stack traces. */
export class DatabaseConnectError extends Error {
  readonly code = "DATABASE_UNAVAILABLE";
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = "DatabaseConnectError";
  }
}

/** `postgresql://user:***@host:port/db`: never print a password. */
export function redactUrl(url: string): string {
  try {
    const u = new URL(url);
    if (u.password) u.password = "***";
    return u.toString();
  } catch {
    return "(unparseable URL)";
  }
}

function explain(url: string, err: unknown): string {
  const where = redactUrl(url);
  const e = err as { code?: string; message?: string };
  switch (e.code) {
    case "ECONNREFUSED":
      return `cannot reach PostgreSQL at ${where}: connection refused (is the server running and listening there?)`;
    case "ENOTFOUND":
    case "EAI_AGAIN":
      return `cannot reach PostgreSQL at ${where}: host not found`;
    case "ETIMEDOUT":
      return `cannot reach PostgreSQL at ${where}: connection timed out`;
    case "28P01":
    case "28000":
      return `PostgreSQL at ${where} refused the credentials: ${e.message}`;
    case "3D000":
      return `PostgreSQL at ${where}: ${e.message}`;
    default:
      return `cannot use PostgreSQL at ${where}: ${e.message ?? String(err)}`;
  }
}

/**
 * Connects once to check that `url` works. With `createIfMissing`, a missing database is created (as
 * `prisma migrate deploy` would); the returned flag says whether that happened.
 */
export async function checkDatabase(
  url: string,
  opts: { createIfMissing?: boolean } = {},
): Promise<{ created: boolean }> {
  let parsed: URL;
  try {
    parsed = new URL(url);
    if (parsed.protocol !== "postgresql:" && parsed.protocol !== "postgres:") throw new Error("scheme");
  } catch {
    throw new DatabaseConnectError(
      `DATABASE_URL is not a PostgreSQL URL (expected postgresql://user:password@host:port/database): ${redactUrl(url)}`,
    );
  }
  const client = new pg.Client({ connectionString: url, connectionTimeoutMillis: 5000 });
  try {
    await client.connect();
    return { created: false };
  } catch (err) {
    if ((err as { code?: string }).code === "3D000" && opts.createIfMissing) {
      const database = decodeURIComponent(parsed.pathname.slice(1));
      const admin = new URL(url);
      admin.pathname = "/postgres";
      const c = new pg.Client({ connectionString: admin.toString(), connectionTimeoutMillis: 5000 });
      try {
        await c.connect();
        await c.query(`CREATE DATABASE ${pg.escapeIdentifier(database)}`);
        return { created: true };
      } catch (err2) {
        throw new DatabaseConnectError(explain(url, err2), { cause: err2 });
      } finally {
        await c.end().catch(() => {});
      }
    }
    throw new DatabaseConnectError(explain(url, err), { cause: err });
  } finally {
    await client.end().catch(() => {});
  }
}
