import { expect, test } from "@playwright/test";
import { ADMIN_PASSWORD, ADMIN_TOKEN } from "./fixtures";

test("an admin signs in and sees the overview, then signs out", async ({ page }) => {
  await page.goto("/");
  await expect(page).toHaveURL(/\/login/);
  await page.getByLabel("User name").fill("admin");
  await page.getByLabel("Password").fill(ADMIN_PASSWORD);
  await page.getByRole("button", { name: "Sign in" }).click();

  await expect(page.getByRole("heading", { name: "Overview" })).toBeVisible();
  // Other specs register proxies in their own namespaces, so the counts are not checked here.
  await expect(page.getByRole("region", { name: "Mesh at a glance" })).toContainText("Proxies connected");
  await expect(page.getByText("Signed in as admin")).toBeVisible();

  await page.getByRole("button", { name: "Sign out" }).click();
  await expect(page).toHaveURL(/\/login/);
  await page.goto("/");
  await expect(page).toHaveURL(/\/login/);
});

test("a wrong password is refused with a clear message", async ({ page }) => {
  await page.goto("/login");
  await page.getByLabel("User name").fill("admin");
  await page.getByLabel("Password").fill("definitely-not-the-password");
  await page.getByRole("button", { name: "Sign in" }).click();
  await expect(page.getByRole("form", { name: "Sign in to Trellis" }).getByRole("alert")).toHaveText(
    "Wrong user name or password.",
  );
  await expect(page).toHaveURL(/\/login/);
});

// Where the login page may send a browser after sign-in: its callbackUrl is anyone's to write (a link in a
// phishing mail), so every spelling of another origin must land on the console's own overview instead.
const OFFSITE_CALLBACKS = [
  "/.//evil.example/",
  "//evil.example/",
  "/\\evil.example/",
  "\\/\\/evil.example/",
  "/./\\/evil.example/",
  "/..//evil.example/",
  "/\t/evil.example/",
  "\n//evil.example/",
  "https://evil.example/",
  "javascript:alert(document.domain)",
];

for (const callbackUrl of OFFSITE_CALLBACKS) {
  test(`after sign-in, callbackUrl ${JSON.stringify(callbackUrl)} stays on the console`, async ({
    browser,
    baseURL,
  }) => {
    const context = await browser.newContext();
    const offsite: string[] = [];
    // Nothing may leave for another host; answer such requests here rather than let them out.
    await context.route(
      (url) => url.origin !== new URL(baseURL!).origin,
      (route) => {
        offsite.push(route.request().url());
        return route.fulfill({ status: 200, body: "offsite" });
      },
    );
    const page = await context.newPage();
    const dialogs: string[] = [];
    page.on("dialog", (d) => {
      dialogs.push(d.message());
      void d.dismiss();
    });
    await page.goto(`/login?callbackUrl=${encodeURIComponent(callbackUrl)}`);
    await page.getByLabel("User name").fill("admin");
    await page.getByLabel("Password").fill(ADMIN_PASSWORD);
    await page.getByRole("button", { name: "Sign in" }).click();
    await expect(page.getByRole("heading", { name: "Overview" })).toBeVisible();
    expect(new URL(page.url()).origin).toBe(new URL(baseURL!).origin);
    expect(offsite).toEqual([]);
    expect(dialogs).toEqual([]);
    await context.close();
  });
}

test("a same-origin callbackUrl is kept: sign-in lands on the page that asked for it", async ({ page }) => {
  await page.goto(`/login?callbackUrl=${encodeURIComponent("/proxies?x=1")}`);
  await page.getByLabel("User name").fill("admin");
  await page.getByLabel("Password").fill(ADMIN_PASSWORD);
  await page.getByRole("button", { name: "Sign in" }).click();
  await expect(page).toHaveURL(/\/proxies\?x=1$/);
});

test("pages carry a nonce-based Content-Security-Policy and run without violating it", async ({ page }) => {
  // Collected in the page from its first script on, before any of the app's own.
  await page.addInitScript(() => {
    const w = window as unknown as { cspViolations: string[] };
    w.cspViolations = [];
    document.addEventListener("securitypolicyviolation", (e) =>
      w.cspViolations.push(`${e.violatedDirective} ${e.blockedURI} ${e.sourceFile}:${e.lineNumber}`),
    );
  });
  const consoleErrors: string[] = [];
  page.on("console", (m) => {
    if (m.type() === "error") consoleErrors.push(m.text());
  });
  page.on("pageerror", (e) => consoleErrors.push(e.message));

  const login = await page.goto("/login");
  const csp = login!.headers()["content-security-policy"] ?? "";
  expect(csp).toMatch(/script-src [^;]*'nonce-[A-Za-z0-9+/=]{16,}'/);
  expect(csp).not.toMatch(/script-src[^;]*'unsafe-inline'/);
  expect(csp).toContain("frame-ancestors 'none'");
  expect(csp).toContain("object-src 'none'");
  // A fresh nonce on every response.
  const again = await page.request.get("/login");
  expect(again.headers()["content-security-policy"]).not.toBe(csp);

  await page.getByLabel("User name").fill("admin");
  await page.getByLabel("Password").fill(ADMIN_PASSWORD);
  await page.getByRole("button", { name: "Sign in" }).click();
  await expect(page.getByRole("heading", { name: "Overview" })).toBeVisible();
  // Every page of the navigation: the graph (React Flow, charts), the forms, the admin screens.
  for (const [link, heading] of [
    ["Graph", "Service graph"],
    ["Services", "Services"],
    ["Proxies", "Proxies"],
    ["Changes", "Change requests"],
    ["Resources", "Resources in force"],
    ["Users", "Users"],
    ["API tokens", "API tokens"],
    ["Join tokens", "Join tokens"],
    ["Audit log", "Audit log"],
    ["Namespace settings", "Namespace settings"],
  ] as const) {
    await page.getByRole("navigation").getByRole("link", { name: link }).click();
    await expect(page.getByRole("heading", { name: heading, level: 1 })).toBeVisible();
  }
  // A page loaded whole (not by the client router), and one that was never prerendered: the 404 page.
  await page.reload();
  await expect(page.getByRole("heading", { name: "Namespace settings", level: 1 })).toBeVisible();
  const missing = await page.goto("/no-such-page");
  expect(missing!.status()).toBe(404);
  expect(missing!.headers()["content-security-policy"]).toMatch(/'nonce-/);
  await expect(page.getByRole("heading", { name: "Page not found" })).toBeVisible();
  const violations = await page.evaluate(
    () => (window as unknown as { cspViolations: string[] }).cspViolations,
  );
  expect(violations).toEqual([]);
  expect(consoleErrors.filter((m) => /Content[- ]Security[- ]Policy|nonce/i.test(m))).toEqual([]);
});

test("user names are unique whatever their case: ADMIN cannot be made beside admin", async ({ request }) => {
  for (const name of ["ADMIN", "Admin"]) {
    const res = await request.post("/api/v1/users", {
      headers: { authorization: `Bearer ${ADMIN_TOKEN}` },
      data: { name, password: "e2e-not-the-admin-password" },
    });
    expect(res.status(), await res.text()).toBe(409);
    expect(((await res.json()) as { code: string }).code).toBe("CONFLICT");
  }
});
