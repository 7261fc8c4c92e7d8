import { spawn } from "node:child_process";
import { readFileSync } from "node:fs";
const c = spawn(process.execPath, [...(process.env.PFLAGS||"").split(" ").filter(Boolean), "servers.mjs", ...process.argv.slice(2)], {stdio:["ignore","pipe","inherit"]});
c.stdout.on("data", async () => { await new Promise(r=>setTimeout(r,1000)); const st=readFileSync(`/proc/${c.pid}/status`,"utf8"); console.log(process.argv[2], /VmHWM.*/.exec(st)[0], /VmRSS.*/.exec(st)[0]); c.kill(); process.exit(0); });
