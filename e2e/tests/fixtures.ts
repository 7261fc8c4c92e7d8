// Credentials the e2e run bootstraps the product with (see global-setup.ts). Test-only values.
export const ADMIN_PASSWORD = "e2e-admin-password-not-secret";
export const ADMIN_TOKEN = "trls_e2e_bootstrap_token_not_secret_0123456789";
