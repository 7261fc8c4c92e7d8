// What a service's page reads, for a window: its components ask for these and its page prefetches them on the
// server for the window it opens with, so the two cannot drift apart (another input is another query, which
// the browser would fetch again).

/** The window the page opens with: the last 5 minutes, live. */
export const OPENING_WINDOW = { minutes: 5 } as const;

export type SeriesBy = "version" | "caller";

export function serviceInputs(
  namespace: string,
  service: string,
  range: { minutes: number; until?: string } = OPENING_WINDOW,
) {
  return {
    services: { namespace },
    traffic: { namespace, ...range, versions: "split" as const },
    resources: { namespace },
    proxies: { namespace, service },
    series: (by: SeriesBy) => ({ namespace, service, ...range, by }),
  };
}
