import { handleRestRequest } from "@trellis/api";
import { db } from "@/lib/server/db";
import { env } from "@/lib/server/env";
import { gzipped } from "@/lib/gzip";

// REST for automation. Bearer tokens only; see packages/api/src/http.ts.
const handler = gzipped(async (req: Request) =>
  handleRestRequest(db(), req, { trustProxy: env().TRELLIS_TRUST_PROXY }),
);

export { handler as GET, handler as POST, handler as PUT, handler as PATCH, handler as DELETE };
export const dynamic = "force-dynamic";
