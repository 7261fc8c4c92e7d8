import { handleOpenApiRequest, withBodyLimit } from "@trellis/api";
import { env } from "@/lib/server/env";
import { gzipped } from "@/lib/gzip";

// The document's server is the console's public URL (NEXTAUTH_URL) when one is configured, not whatever
// Host or X-Forwarded-Proto the request carried.
export const GET = gzipped(
  withBodyLimit(async (req: Request) => handleOpenApiRequest(req, { publicUrl: env().NEXTAUTH_URL })),
);
export const dynamic = "force-dynamic";
