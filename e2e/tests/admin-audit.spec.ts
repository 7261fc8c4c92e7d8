// The audit log page: filters (actor, action, namespace, time range), paging with the server's cursor,
// details on demand, and nothing to edit or delete. Events are seeded through the REST API.
import { expect, test } from "@playwright/test";
import { ADMIN_PASSWORD, ADMIN_TOKEN, signInOn } from "./fixtures";

const admin = { authorization: `Bearer ${ADMIN_TOKEN}` };
const run = Date.now().toString(36);
const NS = `audit-${run}`;
const USER = `audrey-${run}`;
const PAGE = 25; // AUDIT_PAGE_SIZE in the console

/** A datetime-local value, in the browser's (and this process's) time zone. */
function local(d: Date): string {
  const p = (n: number) => String(n).padStart(2, "0");
  return `${d.getFullYear()}-${p(d.getMonth() + 1)}-${p(d.getDate())}T${p(d.getHours())}:${p(d.getMinutes())}`;
}

test("filters, load more, details, and no way to change an event", async ({ page, request }) => {
  // 1 user.create + 15 grants + 15 revokes in NS: more than one page.
  const created = await request.post("/api/v1/users", {
    headers: admin,
    data: { name: USER, password: "e2e-audit-password-0123" },
  });
  expect(created.status(), await created.text()).toBe(200);
  for (let i = 0; i < 15; i++) {
    const role = (["viewer", "editor", "approver"] as const)[i % 3];
    const g = await request.post(`/api/v1/users/${USER}/roles`, {
      headers: admin,
      data: { role, namespace: NS },
    });
    expect(g.status(), await g.text()).toBe(200);
    // DELETE takes its input in the query string.
    const r = await request.delete(`/api/v1/users/${USER}/roles?role=${role}&namespace=${NS}`, {
      headers: admin,
    });
    expect(r.status(), await r.text()).toBe(200);
  }

  await signInOn(page, "admin", ADMIN_PASSWORD);
  await page.getByRole("navigation", { name: "Main" }).getByRole("link", { name: "Audit log" }).click();
  await expect(page.getByRole("heading", { name: "Audit log", level: 1 })).toBeVisible();
  const log = page.getByRole("table", { name: "Audit log" });
  const filters = page.getByRole("form", { name: "Filter the audit log" });
  const eventRows = log
    .getByRole("row")
    .filter({ has: page.getByRole("button", { name: /^Details of event/ }) });

  // Namespace: 30 role events, in pages of 25.
  await filters.getByLabel("Namespace").fill(NS);
  await filters.getByRole("button", { name: "Apply filters" }).click();
  await expect(eventRows).toHaveCount(PAGE);
  await expect(log.getByRole("caption")).toContainText(`${PAGE}+ shown`);
  await page.getByRole("button", { name: "Load more" }).click();
  await expect(eventRows).toHaveCount(30);
  await expect(page.getByRole("button", { name: "Load more" })).toHaveCount(0);
  // Newest first: the last event made (a revoke) leads, the first grant closes.
  await expect(eventRows.first()).toContainText("role.revoke");
  await expect(eventRows.last()).toContainText("role.grant");

  // Action family plus namespace.
  await filters.getByLabel("Action").fill("role.grant");
  await filters.getByRole("button", { name: "Apply filters" }).click();
  await expect(eventRows).toHaveCount(15);
  await expect(eventRows.filter({ hasText: "role.revoke" })).toHaveCount(0);

  // Details open on demand.
  const first = eventRows.first();
  await first.getByRole("button", { name: /^Details of event/ }).click();
  const details = log.getByRole("row").filter({ hasText: '"scope":' }).first();
  await expect(details).toContainText(`"user": "${USER}"`);
  await expect(details).toContainText(`"scope": "${NS}"`);
  await expect(first.getByRole("button", { name: /^Details of event/ })).toHaveAttribute(
    "aria-expanded",
    "true",
  );

  // Time range: nothing before 2000, everything of this run since a minute before it started.
  await filters.getByLabel("Until").fill("2000-01-01T00:00");
  await filters.getByRole("button", { name: "Apply filters" }).click();
  await expect(page.getByText("No events match.")).toBeVisible();
  await filters.getByLabel("Until").fill("");
  await filters.getByLabel("From").fill(local(new Date(parseInt(run, 36) - 60_000)));
  await filters.getByRole("button", { name: "Apply filters" }).click();
  await expect(eventRows).toHaveCount(15);
  // A range that ends before it starts is caught in the form.
  await filters.getByLabel("Until").fill("2000-01-01T00:00");
  await filters.getByRole("button", { name: "Apply filters" }).click();
  await expect(filters.getByText("must be after From")).toBeVisible();

  // Actor and action: who created the user.
  await filters.getByRole("button", { name: "Clear" }).click();
  await filters.getByLabel("Actor").fill("admin");
  await filters.getByLabel("Action").fill("user.create");
  await filters.getByRole("button", { name: "Apply filters" }).click();
  const creation = eventRows.filter({ hasText: USER });
  await expect(creation).toHaveCount(1);
  await expect(creation).toContainText("token via api");
  // A bad filter is caught in the form, with the contract's message.
  await filters.getByLabel("Action").fill("not an action!");
  await filters.getByRole("button", { name: "Apply filters" }).click();
  await expect(filters.getByText("letters, digits, '_' and '.'")).toBeVisible();

  // Read-only: no control to change an event, and no API for it.
  await expect(page.getByRole("button", { name: /edit|delete|remove/i })).toHaveCount(0);
  const id = (
    (await (await request.get("/api/v1/audit?limit=1", { headers: admin })).json()) as {
      items: { id: string }[];
    }
  ).items[0]!.id;
  for (const method of ["DELETE", "PUT", "PATCH"]) {
    const res = await request.fetch(`/api/v1/audit/${id}`, { method, headers: admin, data: {} });
    expect(res.status(), `${method} /api/v1/audit/${id}`).toBe(404);
  }
  const del = await request.fetch("/api/v1/audit", { method: "DELETE", headers: admin });
  expect(del.ok()).toBe(false);
});
