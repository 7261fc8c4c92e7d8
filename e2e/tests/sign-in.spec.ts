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
