// Console sessions end on the server, not only in the browser that held them: a copy of the session cookie
// (stolen, or left in another tab's devtools) stops working at sign-out, when the user is disabled (and stays
// dead when they are enabled again), when their password is reset and when their roles change; and a session
// has an idle and an absolute lifetime that polling /api/auth/session cannot stretch. Everything here goes over
// real HTTP with the cookie sent by hand, as an attacker replaying it would.
import { spawn, type ChildProcess } from "node:child_process";
import { randomBytes } from "node:crypto";
import { fileURLToPath } from "node:url";
import { expect, test, type APIRequestContext } from "@playwright/test";
import { ADMIN_TOKEN, ensureUsers, signIn } from "./fixtures";
import { freePort } from "./mesh-helpers";

const NS = "e2e-sessions";
const PASSWORD = "e2e-sessions-password";
const admin = { authorization: `Bearer ${ADMIN_TOKEN}` };
const CLI = fileURLToPath(new URL("../../packages/cli/bin/trellis.js", import.meta.url));

/** The cookies a response sets, as name → value (a deleted cookie maps to ""). */
function setCookies(res: Response): Map<string, string> {
  const out = new Map<string, string>();
  for (const line of res.headers.getSetCookie()) {
    const [pair] = line.split(";");
    const eq = pair!.indexOf("=");
    out.set(pair!.slice(0, eq).trim(), pair!.slice(eq + 1).trim());
  }
  return out;
}

const SESSION = "next-auth.session-token";

/** Signs `name` in the way the login form does (csrf, then the credentials callback); returns the session cookie. */
async function signInHttp(base: string, name: string, password = PASSWORD): Promise<string> {
  const csrfRes = await fetch(`${base}/api/auth/csrf`);
  const { csrfToken } = (await csrfRes.json()) as { csrfToken: string };
  const csrfCookie = setCookies(csrfRes).get("next-auth.csrf-token")!;
  const res = await fetch(`${base}/api/auth/callback/credentials`, {
    method: "POST",
    redirect: "manual",
    headers: {
      "content-type": "application/x-www-form-urlencoded",
      cookie: `next-auth.csrf-token=${csrfCookie}`,
    },
    body: new URLSearchParams({ username: name, password, csrfToken, json: "true" }),
  });
  const session = setCookies(res).get(SESSION);
  expect(session, `no session cookie for ${name}: ${res.status} ${await res.text()}`).toBeTruthy();
  return session!;
}

/** Signs the session out the way the console's button does (csrf, then POST /api/auth/signout). */
async function signOutHttp(base: string, session: string): Promise<void> {
  const csrfRes = await fetch(`${base}/api/auth/csrf`, { headers: { cookie: `${SESSION}=${session}` } });
  const { csrfToken } = (await csrfRes.json()) as { csrfToken: string };
  const csrfCookie = setCookies(csrfRes).get("next-auth.csrf-token")!;
  const res = await fetch(`${base}/api/auth/signout`, {
    method: "POST",
    redirect: "manual",
    headers: {
      "content-type": "application/x-www-form-urlencoded",
      cookie: `${SESSION}=${session}; next-auth.csrf-token=${csrfCookie}`,
    },
    body: new URLSearchParams({ csrfToken, json: "true" }),
  });
  expect(res.status).toBe(200);
}

/**
 * What the console makes of a replayed session cookie: "in" when the overview page renders for it, "out" when
 * it sends the request to the login page. /api/auth/session must agree.
 */
async function replay(base: string, session: string): Promise<"in" | "out"> {
  const page = await fetch(`${base}/`, { redirect: "manual", headers: { cookie: `${SESSION}=${session}` } });
  await page.body?.cancel();
  const state = page.status === 200 ? "in" : "out";
  if (state === "out") expect(page.headers.get("location") ?? "").toMatch(/\/login/);
  const s = await fetch(`${base}/api/auth/session`, { headers: { cookie: `${SESSION}=${session}` } });
  const body = (await s.json()) as { user?: unknown };
  expect(body.user !== undefined ? "in" : "out", "/api/auth/session disagrees with the page").toBe(state);
  return state;
}

async function rest(request: APIRequestContext, method: "POST" | "DELETE", path: string, data?: object) {
  const res = await request.fetch(`/api/v1${path}`, { method, headers: admin, ...(data ? { data } : {}) });
  expect(res.status(), await res.text()).toBe(200);
}

test.beforeAll(async ({ request }) => {
  await ensureUsers(
    request,
    NS,
    PASSWORD,
    ["sess-out", "sess-twice", "sess-disable", "sess-reset", "sess-grant", "sess-revoke", "sess-life"].map(
      (n) => [n, "viewer"] as const,
    ),
  );
});

test("signing out in the browser ends the session on the server: a copied cookie is refused", async ({
  browser,
  baseURL,
}) => {
  const page = await signIn(browser, "sess-out", PASSWORD);
  const copied = (await page.context().cookies()).find((c) => c.name === SESSION)!.value;
  expect(await replay(baseURL!, copied)).toBe("in");
  await page.getByRole("button", { name: "Sign out" }).click();
  await expect(page).toHaveURL(/\/login/);
  expect(await replay(baseURL!, copied)).toBe("out");
  await page.context().close();
});

test("signing out ends that session only, not the user's other ones", async ({ baseURL }) => {
  const a = await signInHttp(baseURL!, "sess-twice");
  const b = await signInHttp(baseURL!, "sess-twice");
  await signOutHttp(baseURL!, a);
  expect(await replay(baseURL!, a)).toBe("out");
  expect(await replay(baseURL!, b)).toBe("in");
});

test("disabling a user ends their sessions, and enabling them again does not bring them back", async ({
  request,
  baseURL,
}) => {
  const session = await signInHttp(baseURL!, "sess-disable");
  expect(await replay(baseURL!, session)).toBe("in");
  await rest(request, "POST", "/users/sess-disable/disable");
  expect(await replay(baseURL!, session)).toBe("out");
  await rest(request, "POST", "/users/sess-disable/enable");
  expect(await replay(baseURL!, session)).toBe("out");
  // The user can sign in again, with a new session.
  expect(await replay(baseURL!, await signInHttp(baseURL!, "sess-disable"))).toBe("in");
});

test("a password reset ends the user's sessions", async ({ request, baseURL }) => {
  const session = await signInHttp(baseURL!, "sess-reset");
  await rest(request, "POST", "/users/sess-reset/password", { password: PASSWORD });
  expect(await replay(baseURL!, session)).toBe("out");
});

test("granting or revoking a role ends the user's sessions", async ({ request, baseURL }) => {
  const granted = await signInHttp(baseURL!, "sess-grant");
  await rest(request, "POST", "/users/sess-grant/roles", { role: "editor", namespace: NS });
  expect(await replay(baseURL!, granted)).toBe("out");

  const revoked = await signInHttp(baseURL!, "sess-revoke");
  await rest(request, "DELETE", `/users/sess-revoke/roles?role=viewer&namespace=${NS}`);
  expect(await replay(baseURL!, revoked)).toBe("out");
});

test.describe("session lifetimes (a console of its own with short ones)", () => {
  const IDLE_S = 6;
  const ABSOLUTE_S = 14;
  let child: ChildProcess | null = null;
  let base = "";

  test.beforeAll(async () => {
    test.setTimeout(120_000);
    const port = await freePort();
    base = `http://127.0.0.1:${port}`;
    child = spawn(
      process.execPath,
      [CLI, "console", "--host", "127.0.0.1", "--port", String(port), "--public-url", base],
      {
        env: {
          ...process.env,
          DATABASE_URL: process.env.E2E_DATABASE_URL!,
          NEXTAUTH_SECRET: randomBytes(32).toString("hex"),
          TRELLIS_SESSION_MAX_AGE_SECONDS: String(ABSOLUTE_S),
          TRELLIS_SESSION_IDLE_SECONDS: String(IDLE_S),
        },
        stdio: ["ignore", "pipe", "pipe"],
      },
    );
    let out = "";
    child.stdout!.on("data", (c: Buffer) => (out += c.toString()));
    child.stderr!.on("data", (c: Buffer) => (out += c.toString()));
    // `trellis console` says "console http://…" once it answers its health check.
    const deadline = Date.now() + 100_000;
    while (!out.includes("console http")) {
      if (child.exitCode !== null || Date.now() > deadline)
        throw new Error(`the console with short lifetimes did not start:\n${out}`);
      await new Promise((r) => setTimeout(r, 250));
    }
  });
  test.afterAll(async () => {
    // Only the console this file started.
    if (child && child.exitCode === null) {
      const exited = new Promise((r) => child!.once("exit", r));
      child.kill("SIGTERM");
      await exited;
    }
  });

  test("a session left idle longer than the idle lifetime is over", async () => {
    test.setTimeout(60_000);
    const session = await signInHttp(base, "sess-life");
    expect(await replay(base, session)).toBe("in");
    await new Promise((r) => setTimeout(r, (IDLE_S + 2) * 1000));
    expect(await replay(base, session)).toBe("out");
  });

  test("polling /api/auth/session keeps a session from idling out, but not past its absolute lifetime", async () => {
    test.setTimeout(90_000);
    let session = await signInHttp(base, "sess-life");
    // The session began before this instant; the server checks each request after it was sent.
    const signedIn = Date.now();
    const first = session;
    let lastIn = 0;
    // Poll well inside the idle lifetime, for longer than the absolute one.
    while (Date.now() - signedIn < (ABSOLUTE_S + 3) * 1000) {
      const sent = Date.now();
      const s = await fetch(`${base}/api/auth/session`, { headers: { cookie: `${SESSION}=${session}` } });
      const body = (await s.json()) as { user?: unknown; expires?: string };
      // Keep whatever cookie the answer sets, as a browser would: a refreshed one must not live longer.
      const renewed = setCookies(s).get(SESSION);
      if (renewed) session = renewed;
      if (body.user !== undefined) {
        lastIn = sent;
        // What it reports is the truth: never later than the absolute end.
        expect(Date.parse(body.expires!)).toBeLessThanOrEqual(signedIn + ABSOLUTE_S * 1000);
      }
      await new Promise((r) => setTimeout(r, 1000));
    }
    // It lived past the idle lifetime thanks to the polling …
    expect(lastIn - signedIn).toBeGreaterThan(IDLE_S * 1000);
    // … and ended at the absolute one, whatever the polling did.
    expect(lastIn - signedIn).toBeLessThan(ABSOLUTE_S * 1000);
    expect(await replay(base, session)).toBe("out");
    expect(await replay(base, first)).toBe("out");
  });
});
