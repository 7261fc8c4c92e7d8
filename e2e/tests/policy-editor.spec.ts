// The policy editor: an editor builds a canary Route in the form and sees the YAML follow; a mistake is
// reported at its path as she types (no button to click), errors block opening the request and warnings do
// not; she fixes it in the YAML and the form follows; then she opens the change request.
import { expect, test, type Locator } from "@playwright/test";
import { ADMIN_TOKEN, signInOn } from "./fixtures";

const NS = "e2e-editor";
const auth = { authorization: `Bearer ${ADMIN_TOKEN}` };
const PASSWORD = "e2e-editor-password-0123";
const TITLE = "Canary: 10% of reviews to v2";

test.beforeAll(async ({ request }) => {
  const res = await request.post("/api/v1/users", {
    headers: auth,
    data: { name: "edna", password: PASSWORD, bindings: [{ role: "editor", namespace: NS }] },
  });
  // 409: made by an earlier attempt of this file in the same run.
  expect([200, 409], await res.text()).toContain(res.status());
});

const textbox = (scope: Locator, name: string) => scope.getByRole("textbox", { name, exact: true });
// Fields with suggestions from the registry (namespaces, services, versions) are comboboxes.
const combobox = (scope: Locator, name: string) => scope.getByRole("combobox", { name, exact: true });

test("build a canary Route in the form, get told about a mistake as you type, fix it in YAML, open the request", async ({
  page,
}) => {
  await signInOn(page, "edna", PASSWORD);
  await page.getByRole("link", { name: "Changes" }).click();
  await page.getByRole("link", { name: "New change" }).click();
  await page.getByLabel("Title").fill(TITLE);

  // The form is the first view. Start from the Route template and make it the canary.
  await page
    .getByRole("group", { name: "Start from a template" })
    .getByRole("button", { name: "Route" })
    .click();
  const formTab = page.getByRole("tab", { name: "Form" });
  const yamlTab = page.getByRole("tab", { name: "YAML" });
  await expect(formTab).toHaveAttribute("aria-selected", "true");
  const form = page.getByRole("tabpanel", { name: "Form" });
  await textbox(form, "Name").fill("reviews-canary");
  await combobox(form, "Namespace").fill(NS);
  await combobox(form, "Service").fill("reviews");

  const rule = form.getByRole("group", { name: "Rule 1" });
  const backends = rule.getByRole("group", { name: "Backends", exact: true });
  // Replace the template's backends with ones built here.
  await backends.getByRole("button", { name: "Remove backend 2" }).click();
  await backends.getByRole("button", { name: "Remove backend 1" }).click();
  await expect(backends).toContainText("None: every version of the service");
  await backends.getByRole("button", { name: "Add backend" }).click();
  await combobox(backends, "Version of backend 1").fill("v1");
  await backends.getByRole("button", { name: "Add backend" }).click();
  await combobox(backends, "Version of backend 2").fill("v2");
  await textbox(backends, "Weight of backend 1").fill("90");
  await textbox(backends, "Weight of backend 2").fill("10");
  await expect(backends).toContainText("Total 100% ✓");
  await textbox(rule, "Timeout").fill("2s");

  // The YAML view shows what the form built (switching views with the keyboard).
  await formTab.focus();
  await page.keyboard.press("ArrowRight");
  await expect(yamlTab).toHaveAttribute("aria-selected", "true");
  const yamlBox = page.getByRole("textbox", { name: /Resources \(YAML/ });
  await expect(yamlBox).toHaveValue(/name: reviews-canary/);
  await expect(yamlBox).toHaveValue(new RegExp(`namespace: ${NS}`));
  await expect(yamlBox).toHaveValue(/- version: v1\s+weight: 90\s+- version: v2\s+weight: 10\s+timeout: 2s/);
  // Checked as it was typed: the service has no workloads yet, a warning that does not block.
  const yamlPanel = page.getByRole("tabpanel", { name: "YAML" });
  await expect(yamlPanel.getByRole("list", { name: "Warnings" })).toContainText("spec.service");
  await expect(page.getByRole("button", { name: "Open change request" })).toBeEnabled();

  // A mistake in the form: the weights now sum to 95. The error appears at its path, with no click.
  await formTab.click();
  await textbox(backends, "Weight of backend 2").fill("5");
  await expect(backends).toContainText("Total 95%: weights must sum to 100");
  await expect(
    backends.getByRole("listitem").filter({ hasText: "weights must sum to 100 (got 95)" }),
  ).toContainText("spec.rules[0].backends");
  await expect(form.getByRole("region", { name: "Problems in this resource" })).toContainText(
    "spec.rules[0].backends: weights must sum to 100 (got 95)",
  );
  await expect(page.getByRole("button", { name: "Open change request" })).toBeDisabled();
  await expect(page.getByRole("status").filter({ hasText: "1 error blocks this change" })).toBeVisible();

  // The same error is listed under the YAML.
  await yamlTab.click();
  await expect(yamlPanel.getByRole("list", { name: "Errors" })).toContainText(
    "spec.rules[0].backends: weights must sum to 100 (got 95)",
  );

  // Broken YAML says where; the form waits for it to parse.
  const written = await yamlBox.inputValue();
  await yamlBox.fill(written.replace("weight: 5", "weight: [5"));
  await expect(yamlPanel.getByRole("alert")).toContainText(/YAML: line \d+, column \d+/);
  await expect(page.getByRole("button", { name: "Open change request" })).toBeDisabled();

  // Fixed in the YAML: the form follows and the error goes.
  await yamlBox.fill(written.replace("weight: 5", "weight: 10"));
  await expect(yamlPanel.getByRole("list", { name: "Errors" })).toHaveCount(0);
  await expect(yamlPanel.getByRole("list", { name: "Warnings" })).toContainText("spec.service");
  await formTab.click();
  await expect(textbox(backends, "Weight of backend 2")).toHaveValue("10");
  await expect(backends).toContainText("Total 100% ✓");
  await expect(textbox(rule, "Timeout")).toHaveValue("2s");

  await page.getByRole("button", { name: "Open change request" }).click();
  await expect(page).toHaveURL(/\/changes\/\d+$/);
  await expect(page.getByRole("heading", { level: 1 })).toContainText(TITLE);
  await expect(page.getByRole("table", { name: `Diff of Route ${NS}/reviews-canary` })).toContainText("v2");
});
