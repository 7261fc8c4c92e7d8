// Runs before every page render (not API routes or static files, see `config`): gives the page a fresh CSP
// nonce. Next.js reads the nonce from the request's Content-Security-Policy header and puts it on the scripts
// and styles it renders, which is why the pages are rendered per request (the root layout awaits connection()).
// Edit when another per-request header is needed.
import { NextResponse, type NextRequest } from "next/server";
import { contentSecurityPolicy, newNonce } from "@/lib/csp";

export function proxy(request: NextRequest) {
  const csp = contentSecurityPolicy(newNonce(), process.env.NODE_ENV === "development");
  const headers = new Headers(request.headers);
  headers.set("content-security-policy", csp);
  const response = NextResponse.next({ request: { headers } });
  response.headers.set("content-security-policy", csp);
  return response;
}

export const config = {
  matcher: [
    {
      // API routes answer JSON and get a static policy in next.config.ts; static files need none.
      source: "/((?!api/|_next/static|_next/image|favicon.ico).*)",
      // Prefetches fetch RSC payloads, not documents: no policy to set.
      missing: [
        { type: "header", key: "next-router-prefetch" },
        { type: "header", key: "purpose", value: "prefetch" },
      ],
    },
  ],
};
