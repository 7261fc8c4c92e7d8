import { handleTrpcRequest } from "@trellis/api";
import { sessionUserId } from "@/lib/server/auth";
import { db } from "@/lib/server/db";
import { env } from "@/lib/server/env";
import { gzipped } from "@/lib/gzip";

const handler = gzipped(async (req: Request) => {
  return handleTrpcRequest(db(), req, {
    endpoint: "/api/trpc",
    // Read by handleTrpcRequest only once the origin and the body size have passed.
    sessionUserId,
    trustProxy: env().TRELLIS_TRUST_PROXY,
  });
});

export { handler as GET, handler as POST };
export const dynamic = "force-dynamic";
