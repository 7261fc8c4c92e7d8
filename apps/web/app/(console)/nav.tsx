"use client";
import Link from "@/app/(console)/_components/link";
import { usePathname } from "next/navigation";
import { useIsAdmin } from "./admin/_components/use-me";

const LINKS = [
  { href: "/", label: "Overview" },
  { href: "/graph", label: "Graph" },
  { href: "/services", label: "Services" },
  { href: "/traces", label: "Traces" },
  { href: "/proxies", label: "Proxies" },
  { href: "/changes", label: "Changes" },
  { href: "/resources", label: "Resources" },
  // Administration: links a non-admin could only be refused at are hidden (the server refuses regardless).
  { href: "/admin/users", label: "Users", admin: true },
  { href: "/admin/tokens", label: "API tokens" },
  { href: "/admin/join-tokens", label: "Join tokens", admin: true },
  { href: "/admin/audit", label: "Audit log", admin: true },
  { href: "/admin/settings", label: "Namespace settings" },
];

// next-auth's browser client is needed only to sign out: it loads on the click, not with every page.
const signOut = async () => (await import("next-auth/react")).signOut({ callbackUrl: "/login" });

export function Nav({ userName }: { userName: string }) {
  const path = usePathname();
  const isAdmin = useIsAdmin();
  return (
    <nav className="nav" aria-label="Main">
      <Link href="/" className="brand">
        Trellis
      </Link>
      {LINKS.filter((l) => !l.admin || isAdmin).map((l) => (
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
      <button type="button" className="secondary" onClick={() => void signOut()}>
        Sign out
      </button>
    </nav>
  );
}
