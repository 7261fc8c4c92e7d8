// The console's links: next/link without prefetching a page when its link scrolls into view (pass `prefetch`
// to opt back in). Every console page renders per request, so such a prefetch fetched only the page's shell,
// yet it did so for every link on screen (the navigation alone: twelve, two requests each) while the page
// being opened was still loading: network and main thread a phone needs for that page (decision 021). A click
// fetches the page, as it would have anyway. eslint.config.mjs keeps next/link out of app/(console) otherwise.
import NextLink from "next/link";
import type { ComponentProps } from "react";

export default function Link({ prefetch = false, ...props }: ComponentProps<typeof NextLink>) {
  return <NextLink prefetch={prefetch} {...props} />;
}
