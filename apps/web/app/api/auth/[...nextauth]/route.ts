import NextAuth from "next-auth";
import { authOptions } from "@/lib/server/auth";

type Ctx = { params: Promise<{ nextauth: string[] }> };

// next-auth v4 reads `params.nextauth` synchronously; Next 16 passes params as a promise.
async function handler(req: Request, ctx: Ctx) {
  const params = await ctx.params;
  return NextAuth(authOptions())(req, { params });
}

export { handler as GET, handler as POST };
