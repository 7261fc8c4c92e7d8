import type { Metadata } from "next";
import { redirect } from "next/navigation";
import { sessionUserId, ssoEnabled } from "@/lib/server/auth";
import { LoginForm } from "./login-form";

export const metadata: Metadata = { title: "Sign in" };
export const dynamic = "force-dynamic";

export default async function LoginPage({
  searchParams,
}: {
  searchParams: Promise<{ error?: string; callbackUrl?: string }>;
}) {
  if (await sessionUserId()) redirect("/");
  const { error, callbackUrl } = await searchParams;
  return (
    <div className="auth">
      <LoginForm error={error ?? null} callbackUrl={safeCallback(callbackUrl)} sso={ssoEnabled()} />
    </div>
  );
}

/** Only same-site paths: never redirect a freshly signed-in user to another origin. */
function safeCallback(url: string | undefined): string {
  if (!url) return "/";
  try {
    const u = new URL(url, "http://x");
    return u.origin === "http://x"
      ? u.pathname + u.search
      : u.pathname.startsWith("/")
        ? u.pathname + u.search
        : "/";
  } catch {
    return "/";
  }
}
