import { withBodyLimit } from "@trellis/api";
import { db } from "@/lib/server/db";

/** Liveness and readiness in one: 200 when the database answers, 503 otherwise. No authentication, no details. */
export const GET = withBodyLimit(async () => {
  try {
    await db().$queryRaw`SELECT 1`;
    return Response.json({ status: "ok" });
  } catch {
    return Response.json({ status: "unavailable" }, { status: 503 });
  }
});
export const dynamic = "force-dynamic";
