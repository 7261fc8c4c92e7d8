import NextAuth from "next-auth";
import { NextRequest } from "next/server";
import { withBodyLimit } from "@trellis/api";
import { authOptions } from "@/lib/server/auth";

type Ctx = { params: Promise<{ nextauth: string[] }> };

// next-auth v4 reads `params.nextauth` synchronously; Next 16 passes params as a promise. The body (a
// sign-in form) is limited before next-auth parses it or hashes a password; next-auth reads `nextUrl`, which
// the limited copy of the request needs back.
const handler = withBodyLimit(async (req: Request, ctx: Ctx) => {
  const params = await ctx.params;
  return NextAuth(authOptions())(new NextRequest(req), { params });
});

export { handler as GET, handler as POST };
