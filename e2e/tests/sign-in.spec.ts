import { expect, test } from "@playwright/test";
import { ADMIN_PASSWORD } from "./fixtures";

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
