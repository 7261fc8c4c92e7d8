// `--service-vip-cidr`: the block the control plane allocates service virtual IPs from. One option for the
// commands that start a control plane (`controlplane`, `up`), so its help, environment variable and check are
// the same in both.
import { InvalidArgumentError, Option } from "commander";
import { DEFAULT_SERVICE_VIP_CIDR, ZServiceVipCidr } from "@trellis/contracts";

export function serviceVipCidrOption(): Option {
  return new Option(
    "--service-vip-cidr <cidr>",
    "block service virtual IPs are allocated from (a /30 or larger; existing services keep theirs when it changes)",
  )
    .default(DEFAULT_SERVICE_VIP_CIDR)
    .argParser(parseServiceVipCidr)
    .env("TRELLIS_SERVICE_VIP_CIDR");
}

export function parseServiceVipCidr(value: string): string {
  const checked = ZServiceVipCidr.safeParse(value);
  if (!checked.success) throw new InvalidArgumentError(checked.error.issues[0]?.message ?? "invalid block");
  return checked.data;
}
