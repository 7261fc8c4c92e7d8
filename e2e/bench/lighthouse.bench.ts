// The console on a phone (npm run bench:lighthouse, docs/decisions/021-console-on-a-phone.md): Lighthouse's
// mobile performance audit (its default: a mid-range phone, simulated slow 4G and a 4× slower CPU) of the
// production console that global-setup.ts starts (`trellis up`: `next start` on the last `next build`), signed
// in as the admin, on a small generated mesh (30 services, 60 edges, an hour of telemetry) and one open change.
// Each page RUNS times; the table shows the median run by score, the load average beside it, and the script it
// loaded: transferred (compressed) and parsed (decoded) bytes. /login, without the session, is the reference.
// LIGHTHOUSE_BASELINE=<json of an earlier run> prints that run's numbers beside; every run writes
// test-results/lighthouse.json. BENCH_DETAILS=1 prints what Lighthouse says costs the most on each page and
// writes each page's last full report to test-results/lighthouse-<page>.json (open it in Lighthouse's viewer);
// BENCH_PAGES=/graph,/login runs only those pages. It prints numbers and asserts only that each page answered: not a timed test.
import { readFileSync, writeFileSync, mkdirSync } from "node:fs";
import { loadavg } from "node:os";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { expect, test } from "@playwright/test";
import * as chromeLauncher from "chrome-launcher";
import lighthouse from "lighthouse";
import { ADMIN_PASSWORD, ADMIN_TOKEN, signInOn } from "../tests/fixtures";
import { benchService, generate } from "./telemetry";

const RUNS = Number(process.env.BENCH_RUNS ?? 3);
const DETAILS = process.env.BENCH_DETAILS === "1";
/** BENCH_PAGES=/graph,/changes/:id: only these pages (labels as the table prints them, without "(reference)"). */
const ONLY = process.env.BENCH_PAGES?.split(",").filter((p) => p !== "");
const OUT = join(dirname(fileURLToPath(import.meta.url)), "../test-results/lighthouse.json");
const CHROMIUM = process.env.CHROMIUM_PATH ?? "/usr/bin/chromium";
const MESH = { services: 30, edges: 60 };
/** A service with a v2 workload (every fifth has one), so the change below splits between two versions. */
const SERVICE = benchService(20);

interface Run {
  score: number;
  fcpMs: number;
  lcpMs: number;
  tbtMs: number;
  cls: number;
  ttfbMs: number;
  /** Script the page loaded: bytes on the wire, and decoded. */
  scriptTransferred: number;
  scriptParsed: number;
  /** The 1-minute load average when the run ended. */
  load: number;
}
type Results = Record<string, Run>;

const kb = (b: number) => `${Math.round(b / 1024)} KB`;
const median = (runs: Run[]) => [...runs].sort((a, b) => a.score - b.score)[Math.floor(runs.length / 2)]!;

interface Audit {
  numericValue?: number;
  score?: number | null;
  title?: string;
  details?: { items?: Record<string, unknown>[]; overallSavingsMs?: number };
  metricSavings?: Record<string, number>;
}

function summary(audits: Record<string, Audit>, score: number): Run {
  const requests = (audits["network-requests"]?.details?.items ?? []) as {
    resourceType?: string;
    transferSize?: number;
    resourceSize?: number;
  }[];
  const scripts = requests.filter((r) => r.resourceType === "Script");
  const value = (id: string) => audits[id]?.numericValue ?? NaN;
  return {
    score,
    fcpMs: value("first-contentful-paint"),
    lcpMs: value("largest-contentful-paint"),
    tbtMs: value("total-blocking-time"),
    cls: value("cumulative-layout-shift"),
    ttfbMs: value("server-response-time"),
    scriptTransferred: scripts.reduce((s, r) => s + (r.transferSize ?? 0), 0),
    scriptParsed: scripts.reduce((s, r) => s + (r.resourceSize ?? 0), 0),
    load: loadavg()[0]!,
  };
}

/** What Lighthouse says costs the most on a page: audits that did not pass, by the time they would save. */
function details(audits: Record<string, Audit>): string[] {
  return Object.entries(audits)
    .filter(([, a]) => a.score !== null && a.score !== undefined && a.score < 0.9)
    .map(([id, a]) => ({ id, a, ms: Math.max(0, ...Object.values(a.metricSavings ?? {})) }))
    .sort((x, y) => y.ms - x.ms)
    .slice(0, 8)
    .flatMap(({ id, a, ms }) => {
      const items = (a.details?.items ?? []).slice(0, 4).map((i) => {
        const url = typeof i.url === "string" ? i.url.replace(/^https?:\/\/[^/]+/, "") : "";
        const wasted = typeof i.wastedBytes === "number" ? ` wasted ${kb(i.wastedBytes)}` : "";
        const total = typeof i.totalBytes === "number" ? ` of ${kb(i.totalBytes)}` : "";
        return `      ${url}${wasted}${total}`;
      });
      return [`    ${id} (${a.title}) saves ~${Math.round(ms)} ms`, ...items];
    });
}

function table(results: Results, baseline: Results | null): string[] {
  const cols = ["score", "LCP", "TBT", "CLS", "FCP", "TTFB", "JS wire", "JS parsed", "load"];
  const row = (page: string, label: string, r: Run) =>
    [
      page.padEnd(28),
      label.padEnd(7),
      String(Math.round(r.score)).padStart(5),
      `${(r.lcpMs / 1000).toFixed(1)} s`.padStart(8),
      `${Math.round(r.tbtMs)} ms`.padStart(8),
      r.cls.toFixed(3).padStart(6),
      `${(r.fcpMs / 1000).toFixed(1)} s`.padStart(7),
      `${Math.round(r.ttfbMs)} ms`.padStart(7),
      kb(r.scriptTransferred).padStart(9),
      kb(r.scriptParsed).padStart(10),
      r.load.toFixed(1).padStart(6),
    ].join(" ");
  const header = [
    "page".padEnd(28),
    "".padEnd(7),
    cols[0]!.padStart(5),
    cols[1]!.padStart(8),
    cols[2]!.padStart(8),
    cols[3]!.padStart(6),
    cols[4]!.padStart(7),
    cols[5]!.padStart(7),
    cols[6]!.padStart(9),
    cols[7]!.padStart(10),
    cols[8]!.padStart(6),
  ].join(" ");
  const lines = [header];
  for (const [page, r] of Object.entries(results)) {
    const before = baseline?.[page];
    if (before) lines.push(row(page, "before", before));
    lines.push(row(page, baseline ? "after" : "", r));
  }
  return lines;
}

test("Lighthouse mobile performance of the console's pages, signed in", async ({ page, request }) => {
  test.setTimeout(3_600_000);
  const base = process.env.E2E_BASE_URL!;
  const data = await generate(process.env.E2E_DATABASE_URL!, MESH);
  console.log(`\ngenerated ${MESH.services} services, ${MESH.edges} edges: ${data.rows} per-minute rows`);

  const proposed = await request.post("/api/v1/changes", {
    headers: { authorization: `Bearer ${ADMIN_TOKEN}` },
    data: {
      title: "10 % of the traffic to v2",
      yaml: `apiVersion: trellis.dev/v1alpha1
kind: Route
metadata: { name: ${SERVICE.name}, namespace: ${SERVICE.namespace} }
spec:
  service: ${SERVICE.name}
  rules:
    - backends: [{ version: v1, weight: 90 }, { version: v2, weight: 10 }]
`,
    },
  });
  expect(proposed.status(), await proposed.text()).toBe(200);
  const change = (await proposed.json()) as { id: string };

  await signInOn(page, "admin", ADMIN_PASSWORD);
  const cookie = (await page.context().cookies())
    .filter((c) => base.includes(c.domain))
    .map((c) => `${c.name}=${c.value}`)
    .join("; ");
  await page.context().close();

  const pages: [string, string, boolean][] = [
    ["/login (reference)", "/login", false],
    ["/", "/", true],
    ["/graph", "/graph", true],
    ["/services/:ns/:name", `/services/${SERVICE.namespace}/${SERVICE.name}`, true],
    ["/changes/:id", `/changes/${change.id}`, true],
  ];
  const measured = ONLY ? pages.filter(([label]) => ONLY.includes(label.split(" ")[0]!)) : pages;
  const all: Record<string, Run[]> = {};
  // Pages interleaved run by run, so that a burst of load on the machine falls on all of them alike.
  for (let i = 0; i < RUNS; i++) {
    for (const [label, path, signedIn] of measured) {
      // A browser of its own for every run: the console renews the session cookie on each request, and a
      // browser that kept it would be signed in on /login (and skip to /) the next time.
      const chrome = await chromeLauncher.launch({
        chromePath: CHROMIUM,
        chromeFlags: ["--headless=new", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run"],
      });
      try {
        const result = await lighthouse(
          base + path,
          {
            port: chrome.port,
            output: "json",
            logLevel: "error",
            onlyCategories: ["performance"],
            extraHeaders: signedIn ? { Cookie: cookie } : {},
          },
          undefined,
        );
        const lhr = result!.lhr;
        // A page that redirected (to /login: the session was not sent) or failed is not the page measured.
        expect(lhr.runtimeError, `${path}: ${lhr.runtimeError?.message}`).toBeUndefined();
        expect(new URL(lhr.finalDisplayedUrl).pathname, label).toBe(path);
        const run = summary(
          lhr.audits as Record<string, Audit>,
          (lhr.categories.performance?.score ?? 0) * 100,
        );
        (all[label] ??= []).push(run);
        console.log(
          `  run ${i + 1}/${RUNS} ${label}: ${Math.round(run.score)}, load ${loadavg()
            .map((l) => l.toFixed(1))
            .join(" ")}`,
        );
        if (DETAILS && i === RUNS - 1) {
          for (const l of details(lhr.audits as Record<string, Audit>)) console.log(l);
          const name = label.replace(/[^a-z0-9]+/gi, "-").replace(/^-|-$/g, "") || "overview";
          mkdirSync(dirname(OUT), { recursive: true });
          writeFileSync(join(dirname(OUT), `lighthouse-${name}.json`), JSON.stringify(lhr));
        }
      } finally {
        chrome.kill();
      }
    }
  }

  const results: Results = Object.fromEntries(Object.entries(all).map(([p, runs]) => [p, median(runs)]));
  const baselinePath = process.env.LIGHTHOUSE_BASELINE;
  const baseline = baselinePath ? (JSON.parse(readFileSync(baselinePath, "utf8")) as Results) : null;
  console.log(
    `\nLighthouse ${RUNS} runs per page, mobile; the median run by score (load: 1-min load average)`,
  );
  for (const l of table(results, baseline)) console.log("  " + l);
  console.log(`  /proc/loadavg at the end: ${readFileSync("/proc/loadavg", "utf8").trim()}`);
  mkdirSync(dirname(OUT), { recursive: true });
  writeFileSync(OUT, JSON.stringify(results, null, 2));
  console.log(`  written to ${OUT}`);
});
