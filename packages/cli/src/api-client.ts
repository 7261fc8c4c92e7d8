// The CLI talks to the REST API like any script: bearer token, JSON, problem documents on failure. Every
// command that calls the API takes its options from here (--server, --token, -o), so they behave alike.
// Edit when every API command needs a new common option or output format.
import { Command, Option } from "commander";
import { CliError } from "./errors.js";
import { safe } from "./terminal.js";

export interface ApiOptions {
  server: string;
  token?: string;
}

export type OutputFormat = "table" | "json" | "yaml";
export interface OutputOptions {
  output: OutputFormat | "text";
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

/** `-o table|json|yaml` (`text` is accepted as another name for `table`). */
export function outputOption(): Option {
  return new Option("-o, --output <format>", "output format")
    .choices(["table", "json", "yaml", "text"])
    .default("table");
}

/** Adds --server, --token and -o to a command. */
export function apiCommand(name: string): Command {
  const cmd = new Command(name);
  for (const o of apiOptions()) cmd.addOption(o);
  return cmd.addOption(outputOption());
}

/** The problem document the API answers errors with (RFC 9457, plus our stable code and field issues). */
interface Problem {
  status?: number;
  code?: string;
  title?: string;
  detail?: string;
  issues?: { path: string; message: string }[];
}

/** Thrown for an HTTP error answer; `code` is the API's stable error code. */
export class ApiError extends CliError {
  constructor(
    message: string,
    readonly status: number,
    readonly code: string | undefined,
  ) {
    super(message);
    this.name = "ApiError";
  }
}

const oneLine = (s: string) => s.replace(/\s+/g, " ").trim();

/** Turns a problem document into one line: `FORBIDDEN: alice needs the admin role … (path: message)`. */
export function describeProblem(status: number, text: string): { line: string; code: string | undefined } {
  try {
    const p = JSON.parse(text) as Problem;
    if (p && typeof p === "object" && (p.code || p.title || p.detail)) {
      const msg = p.detail ?? p.title ?? "";
      // Field issues the message does not already spell out (some codes put the first one in the detail).
      const issues = p.issues
        ?.map((i) => (i.path ? `${i.path}: ${i.message}` : i.message))
        .filter((i) => !msg.includes(i))
        .join("; ");
      return { line: oneLine(`${p.code ?? status}: ${msg}${issues ? ` (${issues})` : ""}`), code: p.code };
    }
  } catch {
    /* not a problem document */
  }
  return { line: oneLine(`HTTP ${status}: ${text.slice(0, 200) || "(no body)"}`), code: undefined };
}

/**
 * Calls the REST API. Errors become one line (never the token): unreachable server, or the problem
 * document's code, detail and field issues.
 */
export async function api<T>(
  opts: ApiOptions,
  method: string,
  path: string,
  body?: unknown,
  { anonymous = false }: { anonymous?: boolean } = {},
): Promise<T> {
  if (!opts.token && !anonymous)
    throw new CliError("an API token is required: set TRELLIS_TOKEN or pass --token");
  let base: URL;
  try {
    base = new URL(opts.server);
  } catch {
    throw new CliError(`--server is not a URL: ${opts.server}`);
  }
  const url = new URL(`/api/v1${path}`, base);
  // State-changing calls always carry a JSON body, even an empty one: the REST edge wants a content type.
  const payload = body ?? (method === "GET" || method === "DELETE" ? undefined : {});
  let res: Response;
  try {
    res = await fetch(url, {
      method,
      headers: {
        ...(anonymous ? {} : { authorization: `Bearer ${opts.token}` }),
        "x-trellis-client": "cli",
        ...(payload !== undefined ? { "content-type": "application/json" } : {}),
      },
      ...(payload !== undefined ? { body: JSON.stringify(payload) } : {}),
      signal: AbortSignal.timeout(30_000),
    });
  } catch (e) {
    const c = (e as { cause?: { code?: string; message?: string; errors?: { code?: string }[] } }).cause;
    let cause = c?.code ?? c?.errors?.[0]?.code ?? c?.message ?? (e as Error).message;
    // fetch refuses some well-known ports outright (the WHATWG "bad port" list); say so plainly.
    if (cause === "bad port") cause = `fetch refuses to connect to port ${base.port || "80"}`;
    throw new CliError(`cannot reach the Trellis API at ${base.origin} (${cause})`);
  }
  const text = await res.text();
  if (!res.ok) {
    const { line, code } = describeProblem(res.status, text);
    throw new ApiError(line, res.status, code);
  }
  try {
    return JSON.parse(text) as T;
  } catch {
    throw new CliError(`${base.origin} answered ${method} ${url.pathname} with something that is not JSON`);
  }
}

/** A query string from defined values only. */
export function query(params: Record<string, string | number | undefined>): string {
  const q = new URLSearchParams();
  for (const [k, v] of Object.entries(params)) if (v !== undefined && v !== "") q.set(k, String(v));
  const s = q.toString();
  return s ? `?${s}` : "";
}

/**
 * A path segment. User names may contain `@` and `.`, which are legal in a path as they are; the REST
 * router matches raw (undecoded) segments, so only characters that need it are escaped.
 */
export function segment(s: string): string {
  return encodeURIComponent(s).replace(/%40/g, "@");
}

/** Prints rows as an aligned table. Cells come from the server: each is made safe (terminal.ts) first. */
export function printTable(raw: Record<string, string>[], columns: string[]): void {
  const rows = raw.map((r) => Object.fromEntries(columns.map((c) => [c, safe(r[c] ?? "")])));
  const widths = columns.map((c) => Math.max(c.length, ...rows.map((r) => (r[c] ?? "").length)));
  const line = (cells: string[]) =>
    cells
      .map((c, i) => c.padEnd(widths[i]!))
      .join("  ")
      .trimEnd();
  console.log(line(columns.map((c) => c.toUpperCase())));
  for (const r of rows) console.log(line(columns.map((c) => r[c] ?? "")));
}

/** Prints `data` as JSON or YAML, or calls `table` for people. YAML is loaded only when asked for. */
export async function printOutput(o: OutputOptions, data: unknown, table: () => void): Promise<void> {
  if (o.output === "json") return void console.log(JSON.stringify(data, null, 2));
  if (o.output === "yaml") {
    const { stringify } = await import("yaml");
    return void process.stdout.write(stringify(data));
  }
  table();
}

/** `1h` ago, `30m` ago, … or an ISO time as given; for --since/--until. */
export function timeArg(value: string, flag: string): string {
  const m = /^(\d{1,6})(s|m|h|d)$/.exec(value);
  if (m) {
    const ms =
      Number(m[1]) * { s: 1_000, m: 60_000, h: 3_600_000, d: 86_400_000 }[m[2] as "s" | "m" | "h" | "d"];
    return new Date(Date.now() - ms).toISOString();
  }
  const t = new Date(value);
  if (!/^\d{4}-\d{2}-\d{2}/.test(value) || Number.isNaN(t.getTime()))
    throw new CliError(
      `${flag} must be a duration such as 30m, 1h or 7d, or a time such as 2026-11-22T10:00:00Z`,
    );
  return t.toISOString();
}

/** `role` or `role:namespace`, as --role and `user grant` take them. */
export function roleArg(value: string, defaultNamespace = "*"): { role: string; namespace: string } {
  const i = value.indexOf(":");
  const role = i < 0 ? value : value.slice(0, i);
  const namespace = i < 0 ? defaultNamespace : value.slice(i + 1);
  if (!["viewer", "editor", "approver", "admin"].includes(role))
    throw new CliError(
      `unknown role "${role}": use viewer, editor, approver or admin (as ROLE or ROLE:NAMESPACE)`,
    );
  if (!namespace)
    throw new CliError(`"${value}": the namespace after ':' is empty (use ROLE:NAMESPACE or ROLE:*)`);
  return { role, namespace };
}
