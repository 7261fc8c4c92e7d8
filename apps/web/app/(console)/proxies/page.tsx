import type { Metadata } from "next";
import { ProxyList } from "./proxy-list";
import { filterFrom } from "./proxy-rows";

export const metadata: Metadata = { title: "Proxies" };

type Search = Promise<Record<string, string | string[] | undefined>>;

/** `?namespace=shop&service=reviews&sync=nacked` opens the list filtered (the overview links to NACKed ones). */
export default async function ProxiesPage({ searchParams }: { searchParams: Search }) {
  const initial = filterFrom(await searchParams);
  return (
    <>
      <h1>Proxies</h1>
      <ProxyList initial={initial} />
    </>
  );
}
