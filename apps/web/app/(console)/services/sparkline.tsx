// A row's trend over the window: the rate, and its 5xx part in red on the same scale. Plain SVG, not
// Recharts: a list draws one per service, and these neither animate nor take tooltips.
import type { SparklinePoint } from "@trellis/contracts";
import { formatPercent, formatRps } from "../_components/format";
import { sparklineShape } from "./service-metrics";

const WIDTH = 120;
const HEIGHT = 24;

export function Sparkline({ points, window }: { points: readonly SparklinePoint[]; window: string }) {
  const s = sparklineShape(points, WIDTH, HEIGHT);
  const label = `Over ${window}: up to ${formatRps(s.peakRps)}, ${
    s.peakErrorRate > 0 ? `up to ${formatPercent(s.peakErrorRate)} 5xx` : "no 5xx"
  }`;
  return (
    <svg
      className="sparkline"
      role="img"
      aria-label={label}
      width={WIDTH}
      height={HEIGHT}
      viewBox={`0 0 ${WIDTH} ${HEIGHT}`}
      data-points={points.length}
    >
      <title>{label}</title>
      <polyline className="sparkline-rps" points={s.rps} fill="none" />
      {s.peakErrorRate > 0 && <polyline className="sparkline-errors" points={s.errors} fill="none" />}
    </svg>
  );
}
