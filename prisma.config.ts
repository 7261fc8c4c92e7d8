// Prisma CLI configuration (generate, migrate, db push). Edit when the schema moves or Prisma is upgraded.
//
// Why it looks like this: machines here reach only the npm registry, and Prisma's default engines are
// downloaded from Prisma's CDN. Prisma 6.19.3 with `engine: "js"` runs the schema engine as WASM (shipped
// inside the `prisma` package) over the `pg` driver adapter, so everything works offline. Three adapter bugs
// need working around; see docs/decisions/002-prisma-offline.md.
import { defineConfig } from "prisma/config";
import { PrismaPg } from "@prisma/adapter-pg";
import pg from "pg";
import { randomBytes } from "node:crypto";

// Bug 1 (prisma/orm#27403): adapter-pg cannot deserialize catalog columns of type `name` (OID 19) and
// `"char"` (OID 18), which the WASM schema engine reads while introspecting. Both are plain text on the wire,
// so present them as `text` (OID 25) before pg builds its row parsers.
const TEXT_OID = 25;
const addFields = pg.Result.prototype.addFields;
pg.Result.prototype.addFields = function (this: pg.Result, fields: pg.FieldDef[]) {
  for (const f of fields) if (f.dataTypeID === 19 || f.dataTypeID === 18) f.dataTypeID = TEXT_OID;
  return addFields.call(this, fields);
};

function connectionConfig(): pg.PoolConfig {
  const url = process.env.DATABASE_URL;
  if (!url) throw new Error("DATABASE_URL is not set");
  // The Prisma CLI never closes its pool; without allowExitOnIdle every command waits out pg's 10 s idle timeout.
  return { connectionString: url, allowExitOnIdle: true };
}

// Bug 3: adapter-pg's `executeScript` splits a migration on every ";", which cuts dollar-quoted function
// bodies (our audit-log trigger) in half. PostgreSQL's simple-query protocol runs a multi-statement script
// as sent, in one implicit transaction, so send it whole. (A migration that needs a statement that cannot
// run inside a transaction, such as CREATE INDEX CONCURRENTLY, must be a migration of its own.)
type Adapter = Awaited<ReturnType<PrismaPg["connect"]>>;
function sendScriptsWhole(adapter: Adapter): Adapter {
  adapter.executeScript = async (script: string) => {
    try {
      await adapter.underlyingDriver().query(script);
    } catch (error) {
      // Reuse the adapter's own error mapping, so Prisma reports SQL errors as it usually does.
      (adapter as unknown as { onError(e: unknown): never }).onError(error);
    }
  };
  return adapter;
}

// Bug 2: adapter-pg's `connectToShadowDb` keeps the connection string's database name (so the "shadow"
// pool talks to the real database) and drops the shadow database before closing the pool that uses it.
// Used by `prisma migrate dev` only.
class OfflinePrismaPg extends PrismaPg {
  override async connect() {
    return sendScriptsWhole(await super.connect());
  }

  override async connectToShadowDb() {
    const main = new URL(connectionConfig().connectionString!);
    const database = `prisma_shadow_${randomBytes(6).toString("hex")}`;
    const admin = new pg.Client({ connectionString: main.toString() });
    await admin.connect();
    await admin.query(`CREATE DATABASE "${database}"`);
    await admin.end();
    const shadow = new PrismaPg({
      host: main.hostname,
      port: Number(main.port || 5432),
      user: decodeURIComponent(main.username),
      password: decodeURIComponent(main.password),
      database,
      allowExitOnIdle: true,
    });
    const adapter = sendScriptsWhole(await shadow.connect());
    const dispose = adapter.dispose.bind(adapter);
    adapter.dispose = async () => {
      await dispose();
      const cleanup = new pg.Client({ connectionString: main.toString() });
      await cleanup.connect();
      try {
        await cleanup.query(`DROP DATABASE IF EXISTS "${database}" WITH (FORCE)`);
      } finally {
        await cleanup.end();
      }
    };
    return adapter;
  }
}

export default defineConfig({
  experimental: { adapter: true },
  engine: "js",
  schema: "prisma/schema.prisma",
  migrations: { path: "prisma/migrations" },
  async adapter() {
    return new OfflinePrismaPg(connectionConfig());
  },
});
