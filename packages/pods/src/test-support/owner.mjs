// A bed's owner process for sweep.test.ts: makes a bed with two pods, a resolv.conf, a cut and a process in a
// pod, prints what it made as one JSON line, then, by argv[2]: "hang" waits (to be killed), "exit" calls
// process.exit() without destroying the bed, "signal" waits for a signal. Runs the built package (dist/).
const { createBed } = await import(new URL("../../dist/index.js", import.meta.url).href);

const mode = process.argv[2];
const bed = await createBed({ name: "owner" });
const a = await bed.addPod({ name: `pods-${bed.id}-owned-a`, host: "h1" });
const b = await bed.addPod({ name: `pods-${bed.id}-owned-b`, host: "h2" });
await a.setResolvConf("nameserver 127.0.0.1\n");
await bed.cut(a, b);
const sleeper = a.spawn("sleep", ["300"], { stdio: "ignore" });
while (!a.pids().includes(sleeper.pid)) await new Promise((r) => setTimeout(r, 10));
console.log(JSON.stringify({ id: bed.id, pods: [a.name, b.name], sleeper: sleeper.pid }));
if (mode === "exit") process.exit(0);
setInterval(() => {}, 1 << 30);
