// `trellis settings NAMESPACE [--required-approvals N]`: a namespace's settings (read: its viewers; change:
// its admins). Today that is how many approvals a change request there needs.
import { InvalidArgumentError, type Command } from "commander";
import type { NamespaceSettings } from "@trellis/contracts";
import { api, apiCommand, printOutput, segment, type ApiOptions, type OutputOptions } from "../api-client.js";

function approvals(value: string): number {
  const n = Number(value);
  if (!/^\d+$/.test(value) || n < 1 || n > 10) throw new InvalidArgumentError("must be from 1 to 10");
  return n;
}

export function settingsCommand(): Command {
  return apiCommand("settings")
    .description("show a namespace's settings, or change them (admins of the namespace)")
    .argument("<namespace>", "the namespace")
    .option("--required-approvals <n>", "approvals a change request needs, 1 to 10", approvals)
    .action(async (namespace: string, o: ApiOptions & OutputOptions & { requiredApprovals?: number }) => {
      const path = `/namespaces/${segment(namespace)}/settings`;
      const s =
        o.requiredApprovals === undefined
          ? await api<NamespaceSettings>(o, "GET", path)
          : await api<NamespaceSettings>(o, "PUT", path, { requiredApprovals: o.requiredApprovals });
      await printOutput(o, s, () => {
        console.log(`namespace:          ${s.namespace}`);
        console.log(`required approvals: ${s.requiredApprovals}${s.updatedAt ? "" : " (default)"}`);
      });
    });
}
