import { handleTrpcRequest } from "@trellis/api";
import { sessionUserId } from "@/lib/server/auth";
import { db } from "@/lib/server/db";

async function handler(req: Request) {
  return handleTrpcRequest(db(), req, { endpoint: "/api/trpc", sessionUserId: await sessionUserId() });
}

export { handler as GET, handler as POST };
export const dynamic = "force-dynamic";
