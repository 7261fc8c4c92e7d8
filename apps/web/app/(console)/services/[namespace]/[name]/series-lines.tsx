"use client";
// The service page's chart of its series (Recharts), one line per key. series-chart.tsx loads it with
// next/dynamic: Recharts is most of the page's script and is not needed to show the page.
import { TimeLines } from "../../../_components/time-lines";
import type { seriesRows } from "../../service-metrics";

const COLOURS = ["#2f6f4f", "#1d4ed8", "#d97706", "#7c3aed", "#b42318", "#0e7490", "#a16207", "#be185d"];

export function SeriesLines({
  rows,
  keys,
  unit,
}: {
  rows: ReturnType<typeof seriesRows>;
  keys: string[];
  unit: string;
}) {
  return (
    <TimeLines
      rows={rows}
      lines={keys.map((key, i) => ({ key, name: key, colour: COLOURS[i % COLOURS.length]! }))}
      unit={unit}
      height={260}
      legend
      {...(unit === "%" ? { yUnit: "%" } : {})}
    />
  );
}
