"use client";
// The window a traffic view covers: its length (1 minute … 24 hours) and its end, either now (live, polled
// every 5 s) or a past minute (replayed from the rollups, and then not polled: the past does not change).
// The service views and the graph share these fields.
import { useState } from "react";
import { WINDOWS } from "./format";

export interface TimeWindow {
  minutes: number;
  /** The end as a datetime-local value (browser time, minute precision); "" for now. */
  ending: string;
}

export function useTimeWindow(minutes = 5) {
  const [value, setValue] = useState<TimeWindow>({ minutes, ending: "" });
  const live = value.ending === "";
  return {
    value,
    setValue,
    live,
    /** For the traffic queries: `until` only when replaying. */
    query: { minutes: value.minutes, ...(live ? {} : { until: new Date(value.ending).toISOString() }) },
    refetchInterval: live ? 5_000 : (false as const),
    label: WINDOWS.find((w) => w.minutes === value.minutes)?.label ?? `${value.minutes} minutes`,
  };
}

export function TimeWindowFields({
  value,
  onChange,
}: {
  value: TimeWindow;
  onChange: (w: TimeWindow) => void;
}) {
  const live = value.ending === "";
  return (
    <>
      <label>
        Window
        <select
          value={value.minutes}
          onChange={(e) => onChange({ ...value, minutes: Number(e.target.value) })}
        >
          {WINDOWS.map((w) => (
            <option key={w.minutes} value={w.minutes}>
              {w.label}
            </option>
          ))}
        </select>
      </label>
      <label>
        Ending
        <input
          type="datetime-local"
          value={value.ending}
          onChange={(e) => onChange({ ...value, ending: e.target.value })}
          aria-describedby="window-ending-hint"
        />
        <span id="window-ending-hint" className="muted graph-hint">
          {live ? "now (live)" : "replaying a past window"}
        </span>
      </label>
      {!live && (
        <button
          type="button"
          className="secondary filters-clear"
          onClick={() => onChange({ ...value, ending: "" })}
        >
          Back to live
        </button>
      )}
    </>
  );
}
