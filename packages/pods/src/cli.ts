#!/usr/bin/env node
// For humans cleaning up after a crash: `node packages/pods/dist/cli.js list | sweep`. Errors are one line on
// stderr and exit status 1, like the trellis command's.
import { PodsError } from "./errors.js";
import { list, sweep } from "./sweep.js";

const USAGE = `usage: trellis-pods <command>

  list    the pod beds on this machine (owner, subnet, pods), and anything that looks like a bed's but has no record
  sweep   remove the beds whose owner process is gone (what \`createBed\` does first)
`;

async function main(argv: string[]): Promise<number> {
  const [command, ...rest] = argv;
  if (command === undefined || command === "help" || command === "--help" || command === "-h") {
    process.stdout.write(USAGE);
    return command === undefined ? 1 : 0;
  }
  if (rest.length > 0) throw new PodsError("PODS_INVALID", `${command} takes no arguments`);
  if (command === "list") {
    const { beds, unreadable, untracked } = await list();
    if (beds.length === 0) console.log("no beds");
    for (const b of beds) {
      const owner = b.alive ? `process ${b.ownerPid}` : `process ${b.ownerPid} (gone: \`sweep\` removes it)`;
      console.log(`bed ${b.id} ${b.name}  ${b.subnet} gateway ${b.gateway}  ${owner}  since ${b.createdAt}`);
      for (const p of b.pods) console.log(`  ${p.name}  ${p.ip}  host ${p.host}`);
    }
    for (const u of unreadable) console.log(`unreadable state file for bed ${u.id}: ${u.problem}`);
    for (const u of untracked) console.log(`untracked: ${u}; remove it by hand if it is yours`);
    return 0;
  }
  if (command === "sweep") {
    const { removed, failed, unreadable } = await sweep();
    for (const b of removed) {
      console.log(
        `removed bed ${b.id} ${b.name} of process ${b.ownerPid}: ${b.pods.length} pods (${b.pods.join(", ") || "none"})`,
      );
      for (const s of b.skipped) console.log(`  left alone: ${s}`);
    }
    for (const f of failed) console.log(`could not remove all of bed ${f.id}: ${f.problems.join("; ")}`);
    for (const u of unreadable)
      console.log(`unreadable state file for bed ${u.id}, left alone: ${u.problem}`);
    if (removed.length === 0 && failed.length === 0) console.log("nothing to sweep");
    return failed.length > 0 ? 1 : 0;
  }
  throw new PodsError("PODS_INVALID", `unknown command ${JSON.stringify(command)}; try list or sweep`);
}

main(process.argv.slice(2)).then(
  (code) => (process.exitCode = code),
  (err: unknown) => {
    process.stderr.write(`${err instanceof PodsError ? err.message : `trellis pods: ${String(err)}`}\n`);
    process.exitCode = 1;
  },
);
