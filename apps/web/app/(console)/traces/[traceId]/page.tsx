import type { Metadata } from "next";
import { TraceView } from "./trace-view";

type Params = Promise<{ traceId: string }>;

export async function generateMetadata({ params }: { params: Params }): Promise<Metadata> {
  const { traceId } = await params;
  return { title: `Trace ${decodeURIComponent(traceId).slice(0, 12)}` };
}

export default async function TracePage({ params }: { params: Params }) {
  const { traceId } = await params;
  return <TraceView traceId={decodeURIComponent(traceId)} />;
}
