// The CLI talks to the REST API like any script: bearer token, JSON, problem documents on failure.
import { Option } from "commander";
import { CliError } from "./errors.js";

export interface ApiOptions {
  server: string;
  token?: string;
}

/** --server and --token, on every command that calls the API. */
export function apiOptions(): Option[] {
  return [
    new Option("--server <url>", "Trellis console/API address")
      .default("http://localhost:3000")
      .env("TRELLIS_SERVER"),
    new Option(
      "--token <token>",
      "API token (prefer the TRELLIS_TOKEN variable: flags show up in process lists)",
    ).env("TRELLIS_TOKEN"),
  ];
}

export async function api<T>(opts: ApiOptions, method: string, path: string, body?: unknown): Promise<T> {
  if (!opts.token) throw new CliError("an API token is required: set TRELLIS_TOKEN or pass --token");
  let base: URL;
  try {
    base = new URL(opts.server);
  } catch {
    throw new CliError(`--server is not a URL: ${opts.server}`);
  }
  const url = new URL(`/api/v1${path}`, base);
  let res: Response;
  try {
    res = await fetch(url, {
      method,
      headers: {
        authorization: `Bearer ${opts.token}`,
        "x-trellis-client": "cli",
        ...(body !== undefined ? { "content-type": "application/json" } : {}),
      },
      ...(body !== undefined ? { body: JSON.stringify(body) } : {}),
      signal: AbortSignal.timeout(30_000),
    });
  } catch (e) {
    const c = (e as { cause?: { code?: string; message?: string; errors?: { code?: string }[] } }).cause;
    const cause = c?.code ?? c?.errors?.[0]?.code ?? c?.message ?? (e as Error).message;
    throw new CliError(`cannot reach the Trellis API at ${base.origin} (${cause})`);
  }
  const text = await res.text();
  if (!res.ok) {
    let detail = text.slice(0, 300);
    try {
      const p = JSON.parse(text) as {
        code?: string;
        detail?: string;
        title?: string;
        issues?: { path: string; message: string }[];
      };
      const issues = p.issues?.map((i) => `${i.path}: ${i.message}`).join("; ");
      detail = `${p.code ?? res.status}: ${p.detail ?? p.title ?? ""}${issues ? ` (${issues})` : ""}`;
    } catch {
      /* not a problem document */
    }
    throw new CliError(`${method} ${url.pathname} failed: ${detail}`);
  }
  return JSON.parse(text) as T;
}

/** Prints rows as an aligned table. */
export function printTable(rows: Record<string, string>[], columns: string[]): void {
  const widths = columns.map((c) => Math.max(c.length, ...rows.map((r) => (r[c] ?? "").length)));
  const line = (cells: string[]) =>
    cells
      .map((c, i) => c.padEnd(widths[i]!))
      .join("  ")
      .trimEnd();
  console.log(line(columns.map((c) => c.toUpperCase())));
  for (const r of rows) console.log(line(columns.map((c) => r[c] ?? "")));
}
