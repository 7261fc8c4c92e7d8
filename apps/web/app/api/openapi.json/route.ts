import { openApiDocument } from "@trellis/api";

export function GET(req: Request) {
  return Response.json(openApiDocument(new URL(req.url).origin));
}
export const dynamic = "force-dynamic";
