"use client";
// `ResourceDiff` loaded when a page first shows one (next/dynamic), not with the page: the `yaml` and `diff`
// libraries weigh more than most pages that show a diff (docs/decisions/021-console-on-a-phone.md).
import dynamic from "next/dynamic";

export const LazyResourceDiff = dynamic(() => import("./resource-diff").then((m) => m.ResourceDiff), {
  ssr: false,
  loading: () => <p className="muted">Loading the diff…</p>,
});
