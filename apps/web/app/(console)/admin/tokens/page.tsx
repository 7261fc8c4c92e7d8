import type { Metadata } from "next";
import { ApiTokens } from "../_components/api-tokens";

export const metadata: Metadata = { title: "API tokens" };

export default function ApiTokensPage() {
  return (
    <>
      <h1>API tokens</h1>
      <p className="admin-muted">
        Tokens for scripts and the CLI (<code>Authorization: Bearer …</code>). A token carries at most your
        rights, optionally narrowed to one role and one namespace.
      </p>
      <ApiTokens />
    </>
  );
}
