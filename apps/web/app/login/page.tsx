import type { Metadata } from "next";
import { redirect } from "next/navigation";
import { safeCallbackPath } from "@/lib/safe-callback";
import { sessionUserId, ssoEnabled } from "@/lib/server/auth";
import { env } from "@/lib/server/env";
import { LoginForm } from "./login-form";

export const metadata: Metadata = { title: "Sign in" };
export const dynamic = "force-dynamic";

export default async function LoginPage({
  searchParams,
}: {
  searchParams: Promise<{ error?: string | string[]; callbackUrl?: string | string[] }>;
}) {
  if (await sessionUserId()) redirect("/");
  const { error, callbackUrl } = await searchParams;
  return (
    <div className="auth">
      <LoginForm
        error={typeof error === "string" ? error : null}
        // Never another origin: the form hands this to the client router after a password sign-in.
        callbackUrl={safeCallbackPath(callbackUrl, env().NEXTAUTH_URL)}
        sso={ssoEnabled()}
      />
    </div>
  );
}
