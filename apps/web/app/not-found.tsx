import type { Metadata } from "next";
import Link from "next/link";

export const metadata: Metadata = { title: "Not found" };

// Our own 404 page: Next.js's built-in one carries an inline <style> without the CSP nonce (see proxy.ts),
// which the policy refuses.
export default function NotFound() {
  return (
    <div className="auth">
      <main>
        <h1>Page not found</h1>
        <p>
          Nothing lives at this address. <Link href="/">Go to the overview</Link>.
        </p>
      </main>
    </div>
  );
}
