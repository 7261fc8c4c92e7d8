"use client";
// Side-by-side diff of two YAML texts, line by line (jsdiff), as code review tools show it: removed lines on
// the left, added on the right, unchanged lines aligned on both.
import { diffLines } from "diff";
import { useMemo } from "react";

type Row = { left: string | null; right: string | null; kind: "same" | "changed" | "removed" | "added" };

function rows(before: string, after: string): Row[] {
  const out: Row[] = [];
  const parts = diffLines(before, after);
  for (let i = 0; i < parts.length; i++) {
    const p = parts[i]!;
    const lines = p.value.replace(/\n$/, "").split("\n");
    if (!p.added && !p.removed) {
      for (const l of lines) out.push({ left: l, right: l, kind: "same" });
      continue;
    }
    // A removal followed by an addition is a change: pair the lines up.
    const next = parts[i + 1];
    if (p.removed && next?.added) {
      const added = next.value.replace(/\n$/, "").split("\n");
      for (let j = 0; j < Math.max(lines.length, added.length); j++) {
        out.push({ left: lines[j] ?? null, right: added[j] ?? null, kind: "changed" });
      }
      i++;
      continue;
    }
    for (const l of lines)
      out.push(
        p.removed ? { left: l, right: null, kind: "removed" } : { left: null, right: l, kind: "added" },
      );
  }
  return out;
}

export function YamlDiff({ before, after, label }: { before: string; after: string; label: string }) {
  const r = useMemo(() => rows(before, after), [before, after]);
  return (
    <table className="diff" aria-label={label}>
      <thead>
        <tr>
          <th scope="col">Before</th>
          <th scope="col">After</th>
        </tr>
      </thead>
      <tbody>
        {r.map((row, i) => (
          <tr key={i} className={row.kind}>
            <td className={row.left === null ? "blank" : row.kind === "same" ? "" : "del"}>
              <code>{row.left ?? ""}</code>
            </td>
            <td className={row.right === null ? "blank" : row.kind === "same" ? "" : "ins"}>
              <code>{row.right ?? ""}</code>
            </td>
          </tr>
        ))}
      </tbody>
    </table>
  );
}
