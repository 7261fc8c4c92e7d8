"use client";
// The service page's chart of its series (Recharts), one line per key. series-chart.tsx loads it with
// next/dynamic: Recharts is most of the page's script and is not needed to show the page.
import { CartesianGrid, Legend, Line, LineChart, ResponsiveContainer, Tooltip, XAxis, YAxis } from "recharts";
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
    <div style={{ width: "100%", height: 260 }}>
      <ResponsiveContainer>
        <LineChart data={rows} margin={{ top: 8, right: 16, bottom: 0, left: 0 }}>
          <CartesianGrid stroke="#e9ecef" />
          <XAxis dataKey="t" minTickGap={24} />
          <YAxis unit={unit === "%" ? "%" : undefined} width={56} />
          <Tooltip formatter={(v) => `${typeof v === "number" ? Number(v.toFixed(2)) : v} ${unit}`} />
          <Legend />
          {keys.map((key, i) => (
            <Line
              key={key}
              dataKey={key}
              name={key}
              stroke={COLOURS[i % COLOURS.length]}
              dot={false}
              isAnimationActive={false}
              connectNulls={false}
            />
          ))}
        </LineChart>
      </ResponsiveContainer>
    </div>
  );
}
