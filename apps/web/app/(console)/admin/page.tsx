import type { Metadata } from "next";
import Link from "@/app/(console)/_components/link";

export const metadata: Metadata = { title: "Administration" };

// The administration pages under admin/, one line each on what they are for. Add a line here with a new
// folder there (e2e admin-index.spec.ts opens every link and checks its heading).
const PAGES = [
  {
    href: "/admin/users",
    title: "Users",
    what: "People who sign in, their roles per namespace.",
    who: "admins",
  },
  {
    href: "/admin/tokens",
    title: "API tokens",
    what: "Your tokens for scripts and the CLI: create, list, revoke.",
    who: "everyone",
  },
  {
    href: "/admin/join-tokens",
    title: "Join tokens",
    what: "What a new proxy presents to join the mesh in a namespace.",
    who: "admins",
  },
  { href: "/admin/audit", title: "Audit log", what: "Who changed what, and when.", who: "admins" },
  {
    href: "/admin/settings",
    title: "Namespace settings",
    what: "Per namespace: how many approvals a change request needs.",
    who: "everyone (admins edit)",
  },
] as const;

export default function AdminIndexPage() {
  return (
    <>
      <h1>Administration</h1>
      <ul className="admin-index">
        {PAGES.map((p) => (
          <li key={p.href}>
            <Link href={p.href}>{p.title}</Link>
            <span>{p.what}</span>
            <span className="muted">For {p.who}.</span>
          </li>
        ))}
      </ul>
    </>
  );
}
