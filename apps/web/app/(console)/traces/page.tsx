import type { Metadata } from "next";
import { Suspense } from "react";
import { TraceList } from "./trace-list";

export const metadata: Metadata = { title: "Traces" };

export default function TracesPage() {
  return (
    <>
      <h1>Traces</h1>
      {/* The search lives in the URL (useSearchParams): rendered on the client. */}
      <Suspense fallback={<p className="muted">Loading…</p>}>
        <TraceList />
      </Suspense>
    </>
  );
}
