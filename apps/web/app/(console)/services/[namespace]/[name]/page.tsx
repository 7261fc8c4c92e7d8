import type { Metadata } from "next";
import { prefetch, Prefetched, trpc } from "@/lib/trpc/server";
import { ServiceDetail } from "./service-detail";
import { serviceInputs } from "./service-inputs";

type Params = Promise<{ namespace: string; name: string }>;

export async function generateMetadata({ params }: { params: Params }): Promise<Metadata> {
  const { name } = await params;
  return { title: decodeURIComponent(name) };
}

export default async function ServicePage({ params }: { params: Params }) {
  const p = await params;
  const [namespace, service] = [decodeURIComponent(p.namespace), decodeURIComponent(p.name)];
  // What the page shows for its opening window, read on the server as the signed-in user (decision 021).
  const inputs = serviceInputs(namespace, service);
  const state = await prefetch(
    trpc.service.list.queryOptions(inputs.services),
    trpc.traffic.edges.queryOptions(inputs.traffic),
    trpc.resource.list.queryOptions(inputs.resources),
    trpc.proxy.list.queryOptions(inputs.proxies),
    trpc.traffic.series.queryOptions(inputs.series("version")),
  );
  return (
    <Prefetched state={[state]}>
      <ServiceDetail namespace={namespace} service={service} />
    </Prefetched>
  );
}
