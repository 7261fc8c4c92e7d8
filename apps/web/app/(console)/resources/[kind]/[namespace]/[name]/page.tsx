import type { Metadata } from "next";
import { ResourceDetail } from "./resource-detail";

type Params = Promise<{ kind: string; namespace: string; name: string }>;

export async function generateMetadata({ params }: { params: Params }): Promise<Metadata> {
  const p = await params;
  return { title: `${p.kind} ${decodeURIComponent(p.namespace)}/${decodeURIComponent(p.name)}` };
}

export default async function ResourcePage({ params }: { params: Params }) {
  const p = await params;
  return (
    <ResourceDetail
      kind={decodeURIComponent(p.kind)}
      namespace={decodeURIComponent(p.namespace)}
      name={decodeURIComponent(p.name)}
    />
  );
}
