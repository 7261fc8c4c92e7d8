import type { Metadata } from "next";
import Link from "next/link";

export const metadata: Metadata = { title: "Not found" };

// Our own 404 page: Next.js's built-in one carries an inline <style> without the CSP nonce (see proxy.ts),
// which the policy refuses. It renders outside the console's layout (no session is read for an unknown
// address), so it draws the console's frame itself: the navigation column with the brand, and the page.
export default function NotFound() {
  return (
    <div className="shell">
      <nav className="nav" aria-label="Main">
        <Link href="/" className="brand">
          Trellis
        </Link>
      </nav>
      <main id="content">
        <h1>Page not found</h1>
        <div className="empty">
          <p>Nothing lives at this address: the page may have moved, or the link has a typo.</p>
          <p>
            <Link className="button" href="/">
              Go to the overview
            </Link>
          </p>
        </div>
      </main>
    </div>
  );
}
