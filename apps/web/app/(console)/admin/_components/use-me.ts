"use client";
// Who is signed in and what the console may offer them. Only for hiding what would be refused anyway: the
// services layer checks every call, whatever the page shows.
import { useQuery } from "@tanstack/react-query";
import { ALL_NAMESPACES, hasRole, roleRank, type Me, type Role } from "@trellis/contracts";
import { useTRPC } from "@/lib/trpc/client";

export interface Rights {
  me: Me;
  /** Admin of every namespace: creates, disables and resets users. */
  meshAdmin: boolean;
  /** Admin somewhere: sees users, the audit log of their namespaces, join tokens. */
  anyAdmin: boolean;
  /** The namespaces (or `*`) the user administers. */
  adminScopes: string[];
  /** Editor somewhere: may open change requests (each is checked against the namespaces it touches). */
  canPropose: boolean;
  has: (role: Role, namespace: string) => boolean;
  /** The role in every one of `namespaces`: what deciding on, rebasing or rolling back a change takes. */
  hasAll: (role: Role, namespaces: readonly string[]) => boolean;
}

export function rightsOf(me: Me): Rights {
  const adminScopes = me.effective.filter((b) => b.role === "admin").map((b) => b.namespace);
  return {
    me,
    meshAdmin: hasRole(me.effective, "admin", ALL_NAMESPACES),
    anyAdmin: adminScopes.length > 0,
    adminScopes,
    canPropose: me.effective.some((b) => roleRank(b.role) >= roleRank("editor")),
    has: (role, namespace) => hasRole(me.effective, role, namespace),
    hasAll: (role, namespaces) =>
      namespaces.length > 0 && namespaces.every((ns) => hasRole(me.effective, role, ns)),
  };
}

export function useRights() {
  const trpc = useTRPC();
  const q = useQuery(trpc.user.me.queryOptions({}, { staleTime: 30_000 }));
  return { ...q, rights: q.data ? rightsOf(q.data) : null };
}

/** For the main navigation: whether the signed-in user administers anything (false until known). */
export function useIsAdmin(): boolean {
  return useRights().rights?.anyAdmin ?? false;
}
