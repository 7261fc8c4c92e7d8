"use client";
import { signIn } from "next-auth/react";
import { useRouter } from "next/navigation";
import { useState, type FormEvent } from "react";

const MESSAGES: Record<string, string> = {
  CredentialsSignin: "Wrong user name or password.",
  AUTH_RATE_LIMITED: "Too many failed attempts. Wait a few minutes and try again.",
  SSO_USER_UNKNOWN: "Your single sign-on account has no Trellis user. Ask an administrator.",
  SSO_EMAIL_UNVERIFIED: "Your single sign-on provider did not confirm that your email address is verified.",
};

export function LoginForm({
  error,
  callbackUrl,
  sso,
}: {
  error: string | null;
  callbackUrl: string;
  /** Single sign-on is configured: offer it beside the password form. */
  sso: boolean;
}) {
  const router = useRouter();
  const [message, setMessage] = useState<string | null>(
    error ? (MESSAGES[error] ?? "Sign-in failed.") : null,
  );
  const [busy, setBusy] = useState(false);

  async function onSubmit(e: FormEvent<HTMLFormElement>) {
    e.preventDefault();
    const form = new FormData(e.currentTarget);
    setBusy(true);
    setMessage(null);
    const res = await signIn("credentials", {
      username: String(form.get("username") ?? ""),
      password: String(form.get("password") ?? ""),
      redirect: false,
    });
    setBusy(false);
    if (!res || res.error) {
      setMessage(MESSAGES[res?.error ?? ""] ?? "Sign-in failed.");
      return;
    }
    router.replace(callbackUrl);
    router.refresh();
  }

  return (
    <form onSubmit={onSubmit} aria-labelledby="signin-title">
      <h1 id="signin-title">Sign in to Trellis</h1>
      <label>
        User name
        <input name="username" autoComplete="username" required autoFocus />
      </label>
      <label>
        Password
        <input name="password" type="password" autoComplete="current-password" required />
      </label>
      {message && (
        <p role="alert" className="error">
          {message}
        </p>
      )}
      <button type="submit" disabled={busy}>
        {busy ? "Signing in…" : "Sign in"}
      </button>
      {sso && (
        <button
          type="button"
          className="secondary"
          disabled={busy}
          onClick={() => void signIn("oidc", { callbackUrl })}
        >
          Sign in with single sign-on
        </button>
      )}
    </form>
  );
}
