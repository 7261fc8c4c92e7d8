"use client";
import Link from "next/link";
import { usePathname } from "next/navigation";
import { signOut } from "next-auth/react";

const LINKS = [
  { href: "/", label: "Overview" },
  { href: "/changes", label: "Changes" },
  { href: "/resources", label: "Resources" },
];

export function Nav({ userName }: { userName: string }) {
  const path = usePathname();
  return (
    <nav className="nav" aria-label="Main">
      <Link href="/" className="brand">
        Trellis
      </Link>
      {LINKS.map((l) => (
        <Link
          key={l.href}
          href={l.href}
          aria-current={(l.href === "/" ? path === "/" : path.startsWith(l.href)) ? "page" : undefined}
        >
          {l.label}
        </Link>
      ))}
      <div className="spacer" />
      <div className="who">Signed in as {userName}</div>
      <button type="button" className="secondary" onClick={() => signOut({ callbackUrl: "/login" })}>
        Sign out
      </button>
    </nav>
  );
}
