import type { Metadata } from "next";
import { RestrictCallers } from "./restrict-callers";

type Params = Promise<{ namespace: string; name: string }>;

export async function generateMetadata({ params }: { params: Params }): Promise<Metadata> {
  const { name } = await params;
  return { title: `Restrict callers of ${decodeURIComponent(name)}` };
}

/** "Restrict callers to what was observed", from the service page and the graph's node panel. */
export default async function RestrictCallersPage({ params }: { params: Params }) {
  const { namespace, name } = await params;
  return <RestrictCallers namespace={decodeURIComponent(namespace)} service={decodeURIComponent(name)} />;
}
