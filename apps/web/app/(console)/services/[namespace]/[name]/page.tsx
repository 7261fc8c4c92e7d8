import type { Metadata } from "next";
import { ServiceDetail } from "./service-detail";

type Params = Promise<{ namespace: string; name: string }>;

export async function generateMetadata({ params }: { params: Params }): Promise<Metadata> {
  const { name } = await params;
  return { title: decodeURIComponent(name) };
}

export default async function ServicePage({ params }: { params: Params }) {
  const { namespace, name } = await params;
  return <ServiceDetail namespace={decodeURIComponent(namespace)} service={decodeURIComponent(name)} />;
}
