// Small helpers that keep the compiler's output stable and free of `undefined` keys.

/** Records with keys in a stable order, so equal inputs serialize to equal bytes. */
export function sortedRecord(r: Record<string, string> | undefined): Record<string, string> {
  const out: Record<string, string> = {};
  for (const k of Object.keys(r ?? {}).sort(cmp)) out[k] = r![k]!;
  return out;
}

/** Code-point order, independent of the locale the server runs in. */
export function cmp(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

/** Drops keys whose value is undefined, so absent fields are absent in the JSON and in the type. */
export function withoutUndefined<T extends object>(o: T): { [K in keyof T]: Exclude<T[K], undefined> } {
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(o)) if (v !== undefined) out[k] = v;
  return out as { [K in keyof T]: Exclude<T[K], undefined> };
}
