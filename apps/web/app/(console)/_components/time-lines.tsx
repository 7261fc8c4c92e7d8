"use client";
// A line chart of values over time (Recharts), the one both the service page's series and the graph panel's
// charts draw: a grid, a time axis, a tooltip with the unit, one line per series, no dots, no animation, gaps
// left as gaps. Imported only by modules that are themselves loaded with next/dynamic: Recharts is large.
import { CartesianGrid, Legend, Line, LineChart, ResponsiveContainer, Tooltip, XAxis, YAxis } from "recharts";

export interface TimeLine {
  key: string;
  name: string;
  colour: string;
}

export function TimeLines({
  rows,
  lines,
  unit,
  height,
  compact = false,
  legend = false,
  yUnit,
  title,
  desc,
}: {
  rows: Record<string, string | number | null>[];
  lines: readonly TimeLine[];
  unit: string;
  height: number;
  /** Small print and margins, for the side panel. */
  compact?: boolean;
  legend?: boolean;
  /** The unit written on the Y axis' ticks, if any. */
  yUnit?: string;
  /** The chart's accessible name (recharts puts it in the svg's <title>). */
  title?: string;
  desc?: string;
}) {
  const tick = compact ? { fontSize: 10 } : undefined;
  return (
    <div style={{ width: "100%", height }}>
      <ResponsiveContainer>
        <LineChart
          data={rows}
          margin={
            compact ? { top: 4, right: 4, bottom: 0, left: 0 } : { top: 8, right: 16, bottom: 0, left: 0 }
          }
          {...(title ? { title } : {})}
          {...(desc ? { desc } : {})}
        >
          <CartesianGrid stroke="#e9ecef" />
          <XAxis dataKey="t" minTickGap={compact ? 32 : 24} {...(tick ? { tick } : {})} />
          <YAxis width={compact ? 36 : 56} {...(yUnit ? { unit: yUnit } : {})} {...(tick ? { tick } : {})} />
          <Tooltip formatter={(v) => `${typeof v === "number" ? Number(v.toFixed(2)) : v} ${unit}`} />
          {legend && <Legend />}
          {lines.map((l) => (
            <Line
              key={l.key}
              dataKey={l.key}
              name={l.name}
              stroke={l.colour}
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
