import { withBodyLimit } from "@trellis/api";
import { pingDatabase } from "@trellis/services";
import { db } from "@/lib/server/db";

/** Liveness and readiness in one: 200 when the database answers, 503 otherwise. No authentication, no details. */
export const GET = withBodyLimit(async () => {
  try {
    await pingDatabase(db());
    return Response.json({ status: "ok" });
  } catch {
    return Response.json({ status: "unavailable" }, { status: 503 });
  }
});
export const dynamic = "force-dynamic";
