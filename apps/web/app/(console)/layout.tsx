import { redirect } from "next/navigation";
import type { ReactNode } from "react";
import { sessionUserId } from "@/lib/server/auth";
import { db } from "@/lib/server/db";
import { Providers } from "@/lib/trpc/client";
import { Nav } from "./nav";

export const dynamic = "force-dynamic";

export default async function ConsoleLayout({ children }: { children: ReactNode }) {
  const userId = await sessionUserId();
  const user = userId
    ? await db().user.findUnique({ where: { id: userId }, select: { name: true, disabled: true } })
    : null;
  if (!user || user.disabled) redirect("/login");
  return (
    <Providers>
      <div className="shell">
        <Nav userName={user.name} />
        <main>{children}</main>
      </div>
    </Providers>
  );
}
