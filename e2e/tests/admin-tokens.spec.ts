// Credentials made in the console: an API token that the REST API accepts, then refuses once revoked, and a
// proxy join token shown once with the command that starts a sidecar with it.
import { expect, test, type Page } from "@playwright/test";
import { ADMIN_PASSWORD, signInOn } from "./fixtures";

const run = Date.now().toString(36);

const nav = (page: Page) => page.getByRole("navigation", { name: "Main" });

test("an API token is shown once, works over REST within its narrowing, and stops working when revoked", async ({
  page,
  context,
}) => {
  await context.grantPermissions(["clipboard-read", "clipboard-write"]);
  await signInOn(page, "admin", ADMIN_PASSWORD);
  await nav(page).getByRole("link", { name: "API tokens" }).click();
  await expect(page.getByRole("heading", { name: "API tokens", level: 1 })).toBeVisible();

  const name = `ci-${run}`;
  const form = page.getByRole("form", { name: "Create an API token" });
  await form.getByLabel("Token name").fill(name);
  await form.getByLabel("Narrow to role").selectOption("viewer");
  await form.getByLabel("Expires after").selectOption("7d");
  await form.getByRole("button", { name: "Create token" }).click();

  const shown = page.getByRole("region", { name: `New API token "${name}"` });
  await expect(shown).toContainText("you will not see it again");
  const token = await shown.getByRole("textbox", { name: "API token" }).inputValue();
  expect(token).toMatch(/^trls_/);
  await shown.getByRole("button", { name: "Copy token" }).click();
  await expect(shown.getByRole("status")).toHaveText("Copied.");
  expect(await page.evaluate("navigator.clipboard.readText()")).toBe(token);
  await shown.getByRole("button", { name: "Done, I have copied it" }).click();
  await expect(page.getByRole("textbox", { name: "API token" })).toHaveCount(0);
  await expect(page.getByText(token)).toHaveCount(0);

  const row = page
    .getByRole("table", { name: "Your API tokens" })
    .getByRole("row")
    .filter({ has: page.getByRole("rowheader", { name }) });
  await expect(row).toContainText("viewer in all namespaces");
  await expect(row).toContainText("active");
  await expect(row).toContainText(token.slice(0, 11)); // trls_ and 6 characters: enough to recognise it
  await expect(row).toContainText("never"); // not used yet

  // Accepted, with the narrowed rights: reads work, an admin action does not (the owner is an admin).
  const bearer = { authorization: `Bearer ${token}` };
  const services = await page.request.get("/api/v1/services", { headers: bearer });
  expect(services.status()).toBe(200);
  const me = await page.request.get("/api/v1/me", { headers: bearer });
  expect(await me.json()).toMatchObject({ name: "admin", kind: "token", token: { name, role: "viewer" } });
  const users = await page.request.get("/api/v1/users", { headers: bearer });
  expect(users.status()).toBe(403);

  await page.reload();
  await expect(row).not.toContainText("never"); // used now, and it expires in 7 days

  await row.getByRole("button", { name: `Revoke ${name}` }).click();
  await row.getByRole("button", { name: "Yes, revoke" }).click();
  await expect(row).toContainText("revoked");
  await expect(row.getByRole("button", { name: `Revoke ${name}` })).toHaveCount(0);

  const after = await page.request.get("/api/v1/services", { headers: bearer });
  expect(after.status()).toBe(401);
  expect(await after.json()).toMatchObject({ code: "AUTH_TOKEN_INVALID" });

  await nav(page).getByRole("link", { name: "Audit log" }).click();
  const filters = page.getByRole("form", { name: "Filter the audit log" });
  await filters.getByLabel("Action").fill("apiToken");
  await filters.getByRole("button", { name: "Apply filters" }).click();
  const log = page.getByRole("table", { name: "Audit log" });
  await expect(log.getByRole("row").filter({ hasText: "apiToken.revoke" }).first()).toBeVisible();
  await expect(
    log.getByRole("row").filter({ hasText: "apiToken.create" }).filter({ hasText: name }),
  ).toHaveCount(1);
});

test("a join token is shown once with its trellis proxy command, and can be revoked", async ({ page }) => {
  await signInOn(page, "admin", ADMIN_PASSWORD);
  await nav(page).getByRole("link", { name: "Join tokens" }).click();
  await expect(page.getByRole("heading", { name: "Join tokens", level: 1 })).toBeVisible();

  const ns = `pay-${run}`;
  const form = page.getByRole("form", { name: "Create a join token" });
  await form.getByLabel("Namespace").fill("Bad Namespace");
  await form.getByRole("button", { name: "Create join token" }).click();
  await expect(form.getByText(/must be lowercase letters/)).toBeVisible();

  await form.getByLabel("Namespace").fill(ns);
  await form.getByLabel("Service (optional)").fill("checkout");
  await form.getByLabel("Description (optional)").fill("checkout pods");
  await form.getByLabel("Lifetime").selectOption("1h");
  await form.getByRole("button", { name: "Create join token" }).click();

  const shown = page.getByRole("region", { name: `New join token for ${ns}/checkout` });
  await expect(shown).toContainText("you will not see it again");
  const token = await shown.getByRole("textbox", { name: "Join token" }).inputValue();
  expect(token).toMatch(/^tj1\.[\w-]+\.[\w-]+$/); // tj1.<CA fingerprint>.<secret>
  const command = await shown.getByRole("textbox", { name: "Command to start a proxy" }).inputValue();
  expect(command).toContain(`export TRELLIS_JOIN_TOKEN='${token}'`);
  expect(command).toContain(`trellis proxy --control-plane ${process.env.E2E_CP_URL}`);
  expect(command).toContain(`--namespace ${ns} --service checkout`);
  // The token goes through the environment, never on the command line itself.
  expect(command.split("\n").slice(1).join("\n")).not.toContain(token);
  await expect(shown.getByRole("button", { name: "Copy command" })).toBeVisible();
  await shown.getByRole("button", { name: "Done, I have copied it" }).click();

  const row = page.getByRole("table", { name: "Join tokens" }).getByRole("row").filter({ hasText: ns });
  await expect(row).toContainText("checkout pods");
  await expect(row).toContainText("active");
  await row.getByRole("button", { name: /^Revoke tj1\./ }).click();
  await row.getByRole("button", { name: "Yes, revoke" }).click();
  await expect(row).toContainText("revoked");

  await nav(page).getByRole("link", { name: "Audit log" }).click();
  const filters = page.getByRole("form", { name: "Filter the audit log" });
  await filters.getByLabel("Namespace").fill(ns);
  await filters.getByRole("button", { name: "Apply filters" }).click();
  const log = page.getByRole("table", { name: "Audit log" });
  await expect(log.getByRole("row").filter({ hasText: "joinToken.revoke" })).toHaveCount(1);
  await expect(log.getByRole("row").filter({ hasText: "joinToken.create" })).toHaveCount(1);
});
