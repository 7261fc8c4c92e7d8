import { redirect } from "next/navigation";
import type { ReactNode } from "react";
import { consoleUser } from "@trellis/services";
import { sessionUserId } from "@/lib/server/auth";
import { db } from "@/lib/server/db";
import { Providers } from "@/lib/trpc/client";
import { prefetch, Prefetched, trpc } from "@/lib/trpc/server";
import { Nav } from "./nav";

export const dynamic = "force-dynamic";

export default async function ConsoleLayout({ children }: { children: ReactNode }) {
  const userId = await sessionUserId();
  const user = userId ? await consoleUser(db(), userId) : null;
  if (!user) redirect("/login");
  // Who is signed in, for the navigation's admin links and the pages' buttons: there from the first paint.
  const me = await prefetch(trpc.user.me.queryOptions({}));
  return (
    <Providers>
      <Prefetched state={[me]}>
        {/* The first thing Tab reaches: past the navigation's dozen links to the page itself. */}
        <a href="#content" className="skip-link">
          Skip to content
        </a>
        <div className="shell">
          <Nav userName={user.name} />
          <main id="content" tabIndex={-1}>
            {children}
          </main>
        </div>
      </Prefetched>
    </Providers>
  );
}
