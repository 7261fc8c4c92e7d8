// Users and roles in the console: an admin creates an editor of one namespace; that editor, signed in
// elsewhere, finds the admin pages hidden and refused, and the API (tRPC with the session, REST with the
// editor's own token) answers 403. Then the admin grants and revokes a role, disables and re-enables the
// user and gives them a generated password, and the audit log shows it all.
import { expect, test, type Page } from "@playwright/test";
import { ADMIN_PASSWORD, ADMIN_TOKEN, signIn, signInOn } from "./fixtures";

const admin = { authorization: `Bearer ${ADMIN_TOKEN}` };
const run = Date.now().toString(36);
const EDITOR = `eddie-${run}`;
const NS = `shop-${run}`;
const PASSWORD = "e2e-editor-password-0123";

const nav = (page: Page) => page.getByRole("navigation", { name: "Main" });
const userRow = (page: Page, name: string) =>
  page
    .getByRole("table", { name: "Users" })
    .getByRole("row")
    .filter({ has: page.getByRole("rowheader", { name }) });

test.describe.configure({ mode: "serial" });

test("an admin creates an editor of one namespace, with field errors first and the server's refusal inline", async ({
  page,
  request,
}) => {
  await signInOn(page, "admin", ADMIN_PASSWORD);
  await nav(page).getByRole("link", { name: "Users" }).click();
  await expect(page.getByRole("heading", { name: "Users", level: 1 })).toBeVisible();
  await expect(userRow(page, "admin")).toContainText("admin in all namespaces");

  const form = page.getByRole("form", { name: "Create a user" });
  // The contract's schema, run in the browser: nothing reaches the server.
  await form.getByLabel("User name").fill("x");
  await form.getByLabel("Initial password").fill("short");
  await form.getByRole("combobox", { name: "Role", exact: true }).selectOption("editor");
  await form.getByRole("combobox", { name: "Namespace", exact: true }).fill("Not_A_Namespace");
  await form.getByRole("button", { name: "Create user" }).click();
  await expect(form.getByText("must be at least 2 characters")).toBeVisible();
  await expect(form.getByText("must be at least 12 characters")).toBeVisible();
  await expect(form.getByText(/must be lowercase letters/)).toBeVisible();
  await expect(form.getByLabel("User name")).toHaveAttribute("aria-invalid", "true");
  const users = (await (await request.get("/api/v1/users", { headers: admin })).json()) as {
    items: { name: string }[];
  };
  expect(users.items.map((u) => u.name)).not.toContain("x");

  await form.getByLabel("User name").fill(EDITOR);
  await form.getByLabel("Display name (optional)").fill("Eddie Editor");
  await form.getByLabel("Initial password").fill(PASSWORD);
  await form.getByRole("combobox", { name: "Namespace", exact: true }).fill(NS);
  await form.getByRole("button", { name: "Create user" }).click();
  await expect(form.getByRole("status")).toHaveText(`Created user ${EDITOR}.`);
  await expect(userRow(page, EDITOR)).toContainText(`editor in ${NS}`);
  await expect(userRow(page, EDITOR)).toContainText("enabled");
  await expect(userRow(page, EDITOR)).toContainText("never");

  // The same name again: the server's CONFLICT, shown in the form.
  await form.getByLabel("User name").fill(EDITOR);
  await form.getByLabel("Initial password").fill(PASSWORD);
  await form.getByRole("button", { name: "Create user" }).click();
  await expect(form.getByRole("alert")).toContainText(`a user named "${EDITOR}" exists already`);
  await expect(form.getByRole("alert")).toContainText("CONFLICT");
});

test("the editor finds the admin pages hidden and refused, and the API answers 403", async ({ browser }) => {
  const context = await browser.newContext();
  const page = await context.newPage();
  await signInOn(page, EDITOR, PASSWORD);

  // The page says so once it knows who is signed in; by then the navigation knows too.
  await page.goto("/admin/users");
  await expect(page.getByRole("heading", { name: "Not allowed" })).toBeVisible();
  await expect(page.getByRole("table", { name: "Users" })).toHaveCount(0);
  await expect(page.getByRole("form", { name: "Create a user" })).toHaveCount(0);
  for (const link of ["Users", "Join tokens", "Audit log"])
    await expect(nav(page).getByRole("link", { name: link })).toHaveCount(0);
  await expect(nav(page).getByRole("link", { name: "API tokens" })).toBeVisible();
  for (const path of ["/admin/audit", "/admin/join-tokens"]) {
    await page.goto(path);
    await expect(page.getByRole("heading", { name: "Not allowed" })).toBeVisible();
  }

  // The console's own API, with this session: refused by the services layer, whatever the page shows.
  const list = await page.request.get(`/api/trpc/user.list?input=${encodeURIComponent("{}")}`);
  expect(list.status()).toBe(403);
  expect(await list.json()).toMatchObject({ error: { data: { appCode: "FORBIDDEN" } } });
  const audit = await page.request.get(`/api/trpc/audit.list?input=${encodeURIComponent("{}")}`);
  expect(audit.status()).toBe(403);

  // The editor's own API token (everyone has the tokens page) carries at most the editor's rights.
  await nav(page).getByRole("link", { name: "API tokens" }).click();
  const form = page.getByRole("form", { name: "Create an API token" });
  await form.getByLabel("Token name").fill("editor-script");
  await form.getByRole("button", { name: "Create token" }).click();
  const token = await page.getByRole("textbox", { name: "API token" }).inputValue();
  const bearer = { authorization: `Bearer ${token}` };
  expect((await page.request.get("/api/v1/services", { headers: bearer })).status()).toBe(200);
  const me = await page.request.get("/api/v1/me", { headers: bearer });
  expect(await me.json()).toMatchObject({ name: EDITOR, effective: [{ role: "editor", namespace: NS }] });
  for (const [method, path, data] of [
    ["GET", "/api/v1/users", undefined],
    ["GET", "/api/v1/audit", undefined],
    ["POST", "/api/v1/users", { name: `mallory-${run}`, password: PASSWORD }],
    ["POST", `/api/v1/users/${EDITOR}/roles`, { role: "admin", namespace: NS }],
    ["POST", "/api/v1/join-tokens", { namespace: NS }],
    ["PUT", `/api/v1/namespaces/${NS}/settings`, { requiredApprovals: 1 }],
  ] as const) {
    const res = await page.request.fetch(path, { method, headers: bearer, ...(data ? { data } : {}) });
    expect(res.status(), `${method} ${path}: ${await res.text()}`).toBe(403);
    expect((await res.json()) as { code: string }).toMatchObject({ code: "FORBIDDEN" });
  }
  // Settings are readable, not writable, for a non-admin: no input to change them.
  await nav(page).getByRole("link", { name: "Namespace settings" }).click();
  const row = page
    .getByRole("table", { name: "Required approvals per namespace" })
    .getByRole("row", { name: NS });
  await expect(row).toContainText("1");
  await expect(row.getByRole("spinbutton")).toHaveCount(0);
  await context.close();
});

test("the admin grants and revokes a role, disables, enables and resets the user; the audit log shows it", async ({
  page,
  browser,
  request,
}) => {
  await signInOn(page, "admin", ADMIN_PASSWORD);
  await page.goto("/admin/users");
  await userRow(page, EDITOR)
    .getByRole("button", { name: `Manage ${EDITOR}` })
    .click();
  const panel = page.getByRole("region", { name: `Manage ${EDITOR}` });

  const grant = panel.getByRole("form", { name: `Grant a role to ${EDITOR}` });
  await grant.getByRole("combobox", { name: "Role", exact: true }).selectOption("approver");
  await grant.getByRole("combobox", { name: "Namespace", exact: true }).fill(NS);
  await grant.getByRole("button", { name: "Grant role" }).click();
  await expect(grant.getByRole("status")).toHaveText("Granted.");
  await expect(userRow(page, EDITOR)).toContainText(`approver in ${NS}`);

  await panel.getByRole("button", { name: `Revoke approver in ${NS}` }).click();
  await panel
    .getByRole("group", { name: `Revoke approver in ${NS} from ${EDITOR}?` })
    .getByRole("button", {
      name: "Yes, revoke",
    })
    .click();
  await expect(userRow(page, EDITOR)).not.toContainText(`approver in ${NS}`);
  await expect(userRow(page, EDITOR)).toContainText(`editor in ${NS}`);

  await panel.getByRole("button", { name: `Disable ${EDITOR}` }).click();
  await panel.getByRole("button", { name: `Yes, disable ${EDITOR}` }).click();
  await expect(userRow(page, EDITOR)).toContainText("disabled");
  // A disabled user cannot sign in.
  const other = await browser.newContext();
  const theirs = await other.newPage();
  await theirs.goto("/login");
  await theirs.getByLabel("User name").fill(EDITOR);
  await theirs.getByLabel("Password").fill(PASSWORD);
  await theirs.getByRole("button", { name: "Sign in" }).click();
  await expect(theirs.getByRole("alert")).toBeVisible();
  await expect(theirs).toHaveURL(/\/login/);

  await panel.getByRole("button", { name: `Enable ${EDITOR}` }).click();
  await expect(userRow(page, EDITOR)).not.toContainText("disabled");

  // The editor, signed in elsewhere with the password about to be reset.
  const before = await signIn(browser, EDITOR, PASSWORD);

  // An empty field: the server generates a password and returns it once.
  const reset = panel.getByRole("form", { name: `Reset the password of ${EDITOR}` });
  await reset.getByRole("button", { name: "Reset password" }).click();
  const shown = page.getByRole("region", { name: `New password for ${EDITOR}` });
  await expect(shown).toContainText("you will not see it again");
  const generated = await shown.getByRole("textbox", { name: "Generated password" }).inputValue();
  expect(generated.length).toBeGreaterThanOrEqual(12);
  await shown.getByRole("button", { name: "Done, I have copied it" }).click();
  await expect(shown).toHaveCount(0);
  await signInOn(theirs, EDITOR, generated);
  await other.close();
  // A session signed in with the old password is over: whoever knew it is signed out.
  await before.reload();
  await expect(before).toHaveURL(/\/login/);
  await before.context().close();

  // Two approvals for changes in the editor's namespace; the contract's bounds are checked in the page.
  await nav(page).getByRole("link", { name: "Namespace settings" }).click();
  const settings = page
    .getByRole("table", { name: "Required approvals per namespace" })
    .getByRole("row", { name: NS });
  const approvals = settings.getByRole("spinbutton", { name: `Required approvals in ${NS}` });
  await approvals.fill("11");
  await settings.getByRole("button", { name: `Save required approvals in ${NS}` }).click();
  await expect(settings.getByText(/<=10/)).toBeVisible();
  await approvals.fill("2");
  await settings.getByRole("button", { name: `Save required approvals in ${NS}` }).click();
  await expect(settings.getByRole("status")).toHaveText("Saved.");
  const stored = await request.get(`/api/v1/namespaces/${NS}/settings`, { headers: admin });
  expect(await stored.json()).toMatchObject({ namespace: NS, requiredApprovals: 2 });

  // Everything above is in the audit log, by admin, via the console.
  await nav(page).getByRole("link", { name: "Audit log" }).click();
  const filters = page.getByRole("form", { name: "Filter the audit log" });
  await filters.getByLabel("Actor").fill("admin");
  await filters.getByRole("button", { name: "Apply filters" }).click();
  const log = page.getByRole("table", { name: "Audit log" });
  for (const action of [
    "user.create",
    "role.grant",
    "role.revoke",
    "user.disable",
    "user.enable",
    "user.passwordReset",
  ])
    await expect(
      log.getByRole("row").filter({ hasText: action }).filter({ hasText: EDITOR }).first(),
    ).toBeVisible();
  await expect(
    log.getByRole("row").filter({ hasText: "namespaceSetting.update" }).filter({ hasText: NS }),
  ).toHaveCount(1);
  const events = (await (
    await request.get(`/api/v1/audit?actor=admin&action=user&limit=200`, { headers: admin })
  ).json()) as { items: { action: string; via: string; details: { name?: string } }[] };
  const create = events.items.find((e) => e.action === "user.create" && e.details.name === EDITOR);
  expect(create?.via).toBe("console");
});

test("a namespace admin manages roles in their namespace only: fewer actions shown, the server refuses the rest", async ({
  browser,
  request,
}) => {
  const nadia = `nadia-${run}`;
  const own = `team-${run}`;
  const res = await request.post("/api/v1/users", {
    headers: admin,
    data: { name: nadia, password: PASSWORD, bindings: [{ role: "admin", namespace: own }] },
  });
  expect(res.status(), await res.text()).toBe(200);

  const context = await browser.newContext();
  const page = await context.newPage();
  await signInOn(page, nadia, PASSWORD);
  await nav(page).getByRole("link", { name: "Users" }).click();
  await expect(userRow(page, EDITOR)).toBeVisible();
  // Creating, disabling and resetting users take an admin of every namespace: not offered.
  await expect(page.getByRole("form", { name: "Create a user" })).toHaveCount(0);
  await userRow(page, EDITOR)
    .getByRole("button", { name: `Manage ${EDITOR}` })
    .click();
  const panel = page.getByRole("region", { name: `Manage ${EDITOR}` });
  await expect(panel.getByRole("button", { name: `Disable ${EDITOR}` })).toHaveCount(0);
  await expect(panel.getByRole("form", { name: `Reset the password of ${EDITOR}` })).toHaveCount(0);
  // The editor's binding in another namespace is not nadia's to see or revoke.
  await expect(userRow(page, EDITOR)).not.toContainText(`editor in ${NS}`);

  const grant = panel.getByRole("form", { name: `Grant a role to ${EDITOR}` });
  await expect(grant.getByRole("checkbox", { name: "All namespaces" })).toHaveCount(0);
  await grant.getByRole("combobox", { name: "Role", exact: true }).selectOption("viewer");
  await grant.getByRole("combobox", { name: "Namespace", exact: true }).fill(own);
  await grant.getByRole("button", { name: "Grant role" }).click();
  await expect(grant.getByRole("status")).toHaveText("Granted.");
  await expect(userRow(page, EDITOR)).toContainText(`viewer in ${own}`);

  // A namespace that is not hers: the form lets her ask, the server says no, the page says why.
  await grant.getByRole("combobox", { name: "Namespace", exact: true }).fill(NS);
  await grant.getByRole("button", { name: "Grant role" }).click();
  await expect(grant.getByRole("alert")).toContainText("ROLE_ESCALATION");
  await context.close();
});
