// The console's pages people land on by typing or guessing an address: /admin lists the administration pages
// (each link opens a real page), an unknown address shows the styled not-found page with a way home, and every
// console page starts with a "Skip to content" link.
import { expect, test } from "@playwright/test";
import { ADMIN_PASSWORD, signInOn } from "./fixtures";

const ADMIN_PAGES = ["Users", "API tokens", "Join tokens", "Audit log", "Namespace settings"];

test("/admin lists the administration pages, and each link opens its page", async ({ page }) => {
  await signInOn(page, "admin", ADMIN_PASSWORD);
  const res = await page.goto("/admin");
  expect(res?.status()).toBe(200);
  await expect(page.getByRole("heading", { level: 1, name: "Administration" })).toBeVisible();
  const list = page.getByRole("main").getByRole("list");
  await expect(list.getByRole("link")).toHaveText(ADMIN_PAGES);
  for (const name of ADMIN_PAGES) {
    await page.goto("/admin");
    await page.getByRole("main").getByRole("link", { name, exact: true }).click();
    await expect(page.getByRole("heading", { level: 1, name, exact: true })).toBeVisible();
  }
});

test("an unknown address shows the styled not-found page with a link home", async ({ page }) => {
  await signInOn(page, "admin", ADMIN_PASSWORD);
  const res = await page.goto("/no-such-page/at-all");
  expect(res?.status()).toBe(404);
  await expect(page.getByRole("heading", { level: 1, name: "Page not found" })).toBeVisible();
  // The console's frame and look: its navigation column and stylesheet (the page background is the console's).
  await expect(
    page.getByRole("navigation", { name: "Main" }).getByRole("link", { name: "Trellis" }),
  ).toBeVisible();
  const look = await page.evaluate(() => ({
    root: getComputedStyle(document.documentElement).backgroundColor,
    shell: getComputedStyle(document.querySelector(".shell")!).display,
  }));
  expect(look).toEqual({ root: "rgb(247, 248, 250)", shell: "grid" });
  await page.getByRole("link", { name: "Go to the overview" }).click();
  await expect(page).toHaveURL(/\/$/);
});

test("every console page starts with a skip link to its content", async ({ page }) => {
  await signInOn(page, "admin", ADMIN_PASSWORD);
  for (const path of ["/", "/services", "/admin", "/admin/users", "/changes"]) {
    await page.goto(path);
    await page.keyboard.press("Tab");
    const skip = page.getByRole("link", { name: "Skip to content" });
    await expect(skip, path).toBeFocused();
    await expect(skip, path).toBeInViewport();
    await page.keyboard.press("Enter");
    await expect(page.locator("main#content"), path).toBeFocused();
  }
});
