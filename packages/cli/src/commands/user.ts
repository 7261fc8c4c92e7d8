// `trellis user …`: users and their roles, over the REST API (admins). Passwords come from a prompt or
// standard input, never from a flag, and are never printed except a server-generated one, once.
import { Command, Option } from "commander";
import type { Me, RoleGrantResult, UserList, UserPasswordReset, UserSummary } from "@trellis/contracts";
import {
  api,
  apiCommand,
  printOutput,
  printTable,
  roleArg,
  segment,
  type ApiOptions,
  type OutputOptions,
} from "../api-client.js";
import { newPassword } from "../secret-input.js";
import { safe, t } from "../terminal.js";

type Common = ApiOptions & OutputOptions;

const bindingsText = (bs: { role: string; namespace: string }[]) =>
  bs.map((b) => `${b.role}:${b.namespace}`).join(",") || "-";

function printUsers(o: Common, users: UserSummary[]) {
  return printOutput(o, users, () =>
    printTable(
      users.map((u) => ({
        name: u.name,
        roles: bindingsText(u.bindings),
        email: u.email ?? "",
        "sign-in": u.hasPassword ? "password" : "sso",
        state: u.disabled ? "disabled" : "active",
        "last login": u.lastLoginAt ?? "never",
      })),
      ["name", "roles", "email", "sign-in", "state", "last login"],
    ),
  );
}

function collect(value: string, previous: string[]): string[] {
  return [...previous, value];
}

export function userCommand(): Command {
  const user = new Command("user").description("users and their roles (admins)");

  user.addCommand(
    apiCommand("create")
      .description("create a user; the password is asked for (or read with --password-stdin)")
      .argument("<name>", "login name")
      .option("--email <email>", "email address (single sign-on matches users by it)")
      .option("--display-name <name>", "name shown in the console")
      .option(
        "--role <role[:ns]>",
        "grant a role, in a namespace (ROLE:NS), in --namespace, or everywhere (repeatable)",
        collect,
        [],
      )
      .option("--namespace <ns>", "namespace for --role values without ':NS' (default: every namespace)")
      .option("--password-stdin", "read the password from standard input")
      .addOption(
        new Option("--sso", "no password: the user signs in only through single sign-on").conflicts(
          "passwordStdin",
        ),
      )
      .action(
        async (
          name: string,
          o: Common & {
            email?: string;
            displayName?: string;
            role: string[];
            namespace?: string;
            passwordStdin?: boolean;
            sso?: boolean;
          },
        ) => {
          const bindings = o.role.map((r) => roleArg(r, o.namespace ?? "*"));
          const password = o.sso ? undefined : await newPassword(o, name);
          const u = await api<UserSummary>(o, "POST", "/users", {
            name,
            ...(o.email ? { email: o.email } : {}),
            ...(o.displayName ? { displayName: o.displayName } : {}),
            ...(password !== undefined ? { password } : {}),
            bindings,
          });
          if (o.output !== "table" && o.output !== "text") return printOutput(o, u, () => {});
          console.error(t`created user ${u.name} (${bindingsText(u.bindings)})`);
        },
      ),
  );

  user.addCommand(
    apiCommand("list")
      .description("list users and their roles")
      .action(async (o: Common) => printUsers(o, (await api<UserList>(o, "GET", "/users")).items)),
  );

  for (const verb of ["grant", "revoke"] as const) {
    user.addCommand(
      apiCommand(verb)
        .description(
          verb === "grant"
            ? "give a user a role in a namespace, or everywhere (*); at most your own rights"
            : "take a role binding away (the last admin of * keeps theirs)",
        )
        .argument("<name>", "user name")
        .argument("<role[:ns]>", "viewer, editor, approver or admin, optionally :NAMESPACE (default *)")
        .option("--namespace <ns>", "namespace when the role has no ':NS'")
        .action(async (name: string, roleSpec: string, o: Common & { namespace?: string }) => {
          const { role, namespace } = roleArg(roleSpec, o.namespace ?? "*");
          const path = `/users/${segment(name)}/roles`;
          const r =
            verb === "grant"
              ? await api<RoleGrantResult>(o, "POST", path, { role, namespace })
              : await api<RoleGrantResult>(
                  o,
                  "DELETE",
                  `${path}?${new URLSearchParams({ role, namespace }).toString()}`,
                );
          const b = `${role}:${namespace}`;
          const what = r.changed
            ? verb === "grant"
              ? `granted ${b} to ${r.name}`
              : `revoked ${b} from ${r.name}`
            : verb === "grant"
              ? `${r.name} already had ${b}`
              : `${r.name} did not have ${b}`;
          await printOutput(o, r, () => console.error(t`${what}; roles now ${bindingsText(r.bindings)}`));
        }),
    );
  }

  for (const verb of ["disable", "enable"] as const) {
    user.addCommand(
      apiCommand(verb)
        .description(
          verb === "disable"
            ? "disable a user: no sign-in; their sessions and API tokens stop working"
            : "enable a disabled user again",
        )
        .argument("<name>", "user name")
        .action(async (name: string, o: Common) => {
          const u = await api<UserSummary>(o, "POST", `/users/${segment(name)}/${verb}`);
          await printOutput(o, u, () =>
            console.error(t`${u.name} is ${u.disabled ? "disabled" : "enabled"}`),
          );
        }),
    );
  }

  user.addCommand(
    apiCommand("reset-password")
      .description("set a user's password (asked for, or --password-stdin), or --generate one")
      .argument("<name>", "user name")
      .option("--password-stdin", "read the new password from standard input")
      .addOption(
        new Option("--generate", "let the server generate one; it is printed once").conflicts(
          "passwordStdin",
        ),
      )
      .action(async (name: string, o: Common & { passwordStdin?: boolean; generate?: boolean }) => {
        const password = o.generate ? undefined : await newPassword(o, name);
        const r = await api<UserPasswordReset>(o, "POST", `/users/${segment(name)}/password`, {
          ...(password !== undefined ? { password } : {}),
        });
        if (o.output === "json" || o.output === "yaml") return printOutput(o, r, () => {});
        if (r.generatedPassword) {
          console.error(t`new password for ${r.name} (shown once):`);
          console.log(r.generatedPassword);
        } else console.error(t`password of ${r.name} changed`);
      }),
  );
  return user;
}

/** `trellis whoami`: the caller, their bindings and the rights in force with this token. */
export function whoamiCommand(): Command {
  return apiCommand("whoami")
    .description("who the API token belongs to, and what it may do")
    .action(async (o: Common) => {
      const me = await api<Me>(o, "GET", "/me");
      await printOutput(o, me, () => {
        console.log(t`${me.name}${me.displayName ? t` (${me.displayName})` : ""}`);
        if (me.token)
          console.log(
            safe(
              `token:     ${me.token.name}${me.token.role ? `, at most ${me.token.role}` : ""}${me.token.namespace ? ` in ${me.token.namespace}` : ""}`,
            ),
          );
        console.log(t`roles:     ${bindingsText(me.bindings)}`);
        console.log(t`effective: ${bindingsText(me.effective)}`);
      });
    });
}
