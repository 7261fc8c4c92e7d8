// Credentials the e2e run bootstraps the product with (see global-setup.ts), and signing in with them.
import { expect, type APIRequestContext, type Browser, type Page } from "@playwright/test";

// Test-only values.
export const ADMIN_PASSWORD = "e2e-admin-password-not-secret";
export const ADMIN_TOKEN = "trls_e2e_bootstrap_token_not_secret_0123456789";

// Signing in, as every journey does it: through the login page, or for scripts through the REST API.

/** Signs `name` in on `page` through the login form and waits until the console says so. */
export async function signInOn(page: Page, name: string, password: string): Promise<void> {
  await page.goto("/login");
  await page.getByLabel("User name").fill(name);
  await page.getByLabel("Password").fill(password);
  await page.getByRole("button", { name: "Sign in" }).click();
  await expect(page.getByText(`Signed in as ${name}`)).toBeVisible();
}

/** A browser context of `name`'s own (cookies apart from anyone else's), signed in. */
export async function signIn(
  browser: Browser,
  name: string,
  password: string,
  baseURL?: string,
): Promise<Page> {
  const page = await (await browser.newContext(baseURL ? { baseURL } : {})).newPage();
  await signInOn(page, name, password);
  return page;
}

/** An API token of `user`, as a script of theirs would hold: the Authorization header to send. */
export async function tokenOf(
  request: APIRequestContext,
  user: string,
  password: string,
  name = "e2e",
): Promise<Record<string, string>> {
  const res = await request.post("/api/v1/tokens/sign-in", { data: { user, password, name } });
  expect(res.status(), await res.text()).toBe(200);
  return { authorization: `Bearer ${((await res.json()) as { token: string }).token}` };
}

/**
 * The people of a journey, each with one role in `namespace`, made through the REST API as the bootstrap
 * admin. A 409 means an earlier attempt of the same file in this run made them already.
 */
export async function ensureUsers(
  request: APIRequestContext,
  namespace: string,
  password: string,
  people: readonly (readonly [name: string, role: string])[],
): Promise<void> {
  for (const [name, role] of people) {
    const res = await request.post("/api/v1/users", {
      headers: { authorization: `Bearer ${ADMIN_TOKEN}` },
      data: { name, password, bindings: [{ role, namespace }] },
    });
    expect([200, 409], await res.text()).toContain(res.status());
  }
}

/** A join token for `namespace`'s sidecars, made by the bootstrap admin. */
export async function joinToken(request: APIRequestContext, namespace: string): Promise<string> {
  const res = await request.post("/api/v1/join-tokens", {
    headers: { authorization: `Bearer ${ADMIN_TOKEN}` },
    data: { namespace },
  });
  expect(res.status(), await res.text()).toBe(200);
  return ((await res.json()) as { token: string }).token;
}
