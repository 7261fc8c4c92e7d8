"use client";
// A link to propose a change, shown only to someone who may propose one (an editor of `namespace`, or of
// some namespace when none is given). Nothing shows until the rights are known, so no link flickers away.
// Only for offering what would be accepted: the services layer refuses a viewer's change regardless.
import Link from "@/app/(console)/_components/link";
import type { ReactNode } from "react";
import { useRights } from "../admin/_components/use-me";

export function ProposeLink(props: {
  href: string;
  namespace?: string;
  className?: string;
  children: ReactNode;
}) {
  const { rights } = useRights();
  if (!rights) return null;
  if (!(props.namespace ? rights.has("editor", props.namespace) : rights.canPropose)) return null;
  return (
    <Link className={props.className ?? "button"} href={props.href}>
      {props.children}
    </Link>
  );
}
