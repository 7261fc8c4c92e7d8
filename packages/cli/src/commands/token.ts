import { Command } from "commander";
import type {
  ApiTokenCreated,
  ApiTokenSummary,
  JoinTokenCreated,
  JoinTokenSummary,
} from "@trellis/contracts";
import {
  api,
  apiOptions,
  outputOption,
  printOutput,
  printTable,
  type ApiOptions,
  type OutputOptions,
} from "../api-client.js";
import { CliError } from "../errors.js";
import { safe } from "../terminal.js";
import { promptHidden, readStdinSecret } from "../secret-input.js";

type Common = ApiOptions & OutputOptions & { join: boolean; user?: string };

/** JSON or YAML when asked for (scripts); otherwise the command prints for people. */
const structured = (o: Common) => o.output === "json" || o.output === "yaml";

function withApi(cmd: Command): Command {
  for (const o of apiOptions()) cmd.addOption(o);
  return cmd
    .option("--join", "a proxy join token (admins) instead of an API token", false)
    .addOption(outputOption());
}

export function tokenCommand(): Command {
  const token = new Command("token").description("API tokens (for scripts) and join tokens (for proxies)");

  token.addCommand(
    withApi(new Command("create"))
      .description("create a token; prints the secret once (alone on stdout, for scripts)")
      .option(
        "--namespace <ns>",
        "join tokens: the namespace proxies join; API tokens: limit to this namespace",
      )
      .option("--service <name>", "join tokens: only proxies of this service")
      .option("--name <name>", "what it is for")
      .option("--role <role>", "API tokens: at most this role (never more than yours)")
      .option("--expires <lifetime>", "lifetime such as 24h or 30d (default: until revoked)")
      .option(
        "--user <name>",
        "API tokens: sign in as this user (no --token needed); the password is asked for",
      )
      .option("--password-stdin", "with --user: read the password from standard input")
      .action(
        async (
          o: Common & {
            namespace?: string;
            service?: string;
            name?: string;
            role?: string;
            expires?: string;
            user?: string;
            passwordStdin?: boolean;
          },
        ) => {
          if (o.join) {
            if (!o.namespace) throw new CliError("--namespace is required with --join");
            const t = await api<JoinTokenCreated>(o, "POST", "/join-tokens", {
              namespace: o.namespace,
              ...(o.service ? { service: o.service } : {}),
              ...(o.name ? { name: o.name } : {}),
              ...(o.expires ? { expiresIn: o.expires } : {}),
            });
            if (structured(o)) return printOutput(o, t, () => {});
            console.error(
              safe(
                `join token for ${t.service ? `${t.namespace}/${t.service}` : `namespace ${t.namespace}`}${t.expiresAt ? `, expires ${t.expiresAt}` : ""} (shown once):`,
              ),
            );
            console.log(t.token);
            return;
          }
          const wanted = {
            name: o.name ?? "cli",
            ...(o.role ? { role: o.role } : {}),
            ...(o.namespace ? { namespace: o.namespace } : {}),
            ...(o.expires ? { expiresIn: o.expires } : {}),
          };
          // With --user, a password sign-in stands in for the token: how a new user gets their first one.
          const t = o.user
            ? await api<ApiTokenCreated>(
                o,
                "POST",
                "/tokens/sign-in",
                {
                  user: o.user,
                  password: o.passwordStdin
                    ? await readStdinSecret("the password")
                    : await promptHidden(`Password for ${o.user}: `),
                  ...wanted,
                },
                { anonymous: true },
              )
            : await api<ApiTokenCreated>(o, "POST", "/tokens", wanted);
          if (structured(o)) return printOutput(o, t, () => {});
          console.error(
            safe(
              `API token "${t.name}"${t.role ? `, at most ${t.role}` : ""}${t.namespace ? ` in ${t.namespace}` : ""} (shown once):`,
            ),
          );
          console.log(t.token);
        },
      ),
  );

  token.addCommand(
    withApi(new Command("list"))
      .description("list tokens (never their secrets)")
      .option(
        "--user <name>",
        "another user's API tokens (admins of every namespace), e.g. after a password reset",
      )
      .action(async (o: Common) => {
        if (o.join) {
          const { items } = await api<{ items: JoinTokenSummary[] }>(o, "GET", "/join-tokens");
          return printOutput(o, items, () =>
            printTable(
              items.map((t) => ({
                id: t.id,
                prefix: t.prefix,
                namespace: t.namespace,
                service: t.service ?? "*",
                name: t.name ?? "",
                expires: t.expiresAt ?? "never",
                state: t.revokedAt
                  ? t.evictedProxies !== null
                    ? `revoked (${t.evictedProxies} proxies evicted)`
                    : "revoked"
                  : "active",
              })),
              ["id", "prefix", "namespace", "service", "name", "expires", "state"],
            ),
          );
        }
        if (o.user && o.join) throw new CliError("--user lists API tokens; join tokens belong to no user");
        const query = o.user ? `?user=${encodeURIComponent(o.user)}` : "";
        const { items } = await api<{ items: ApiTokenSummary[] }>(o, "GET", `/tokens${query}`);
        await printOutput(o, items, () =>
          printTable(
            items.map((t) => ({
              id: t.id,
              prefix: t.prefix,
              ...(o.user ? { user: t.user } : {}),
              name: t.name,
              role: t.role ?? "(yours)",
              namespace: t.namespace ?? "*",
              "last used": t.lastUsedAt ?? "never",
              state: t.revokedAt ? "revoked" : "active",
            })),
            ["id", "prefix", ...(o.user ? ["user"] : []), "name", "role", "namespace", "last used", "state"],
          ),
        );
      }),
  );

  token.addCommand(
    withApi(new Command("revoke"))
      .description("revoke a token by id")
      .argument("<id>", "token id (from `trellis token list`)")
      .action(async (id: string, o: Common) => {
        const r = await api<{ evictedProxies?: number; certificatesRevoked?: number }>(
          o,
          "DELETE",
          `${o.join ? "/join-tokens" : "/tokens"}/${encodeURIComponent(id)}`,
        );
        console.error(
          r?.evictedProxies !== undefined
            ? `revoked ${id}: ${r.evictedProxies} proxies evicted, ${r.certificatesRevoked ?? 0} certificates revoked`
            : `revoked ${id}`,
        );
      }),
  );
  return token;
}
