import type { Metadata } from "next";
import { env } from "@/lib/server/env";
import { JoinTokens } from "../_components/join-tokens";

export const metadata: Metadata = { title: "Join tokens" };

export default function JoinTokensPage() {
  // `trellis up` tells the console where its control plane listens; `trellis console` alone may not know.
  const controlPlane = env().TRELLIS_CONTROL_PLANE_URL ?? null;
  return (
    <>
      <h1>Join tokens</h1>
      <p className="admin-muted">
        A join token lets proxies of one namespace (optionally one service) join the mesh and get their
        certificates.
      </p>
      <JoinTokens controlPlane={controlPlane} />
    </>
  );
}
