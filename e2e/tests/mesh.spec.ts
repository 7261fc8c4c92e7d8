// The mesh as an operator runs it: a join token from the REST API, then `trellis proxy --control-plane …`
// beside two real apps, each its own process, against the control plane `trellis up` started. Traffic goes
// app → sidecar → mTLS → sidecar → app, and the registry shows what joined.
import { expect, test } from "@playwright/test";
import { ADMIN_TOKEN, joinToken } from "./fixtures";
import { app, call, sidecar as joinSidecar, Workloads } from "./mesh-helpers";

const NS = "e2e-mesh";
const auth = { authorization: `Bearer ${ADMIN_TOKEN}` };
const sidecar = (service: string, appPort: number, token: string) => joinSidecar(NS, service, appPort, token);

test("two `trellis proxy` sidecars join with a token and carry traffic over mTLS", async ({ request }) => {
  const token = await joinToken(request, NS);

  const mesh = new Workloads();
  const sidecars = [
    await mesh.add(NS, "backend", await app("backend-v1"), token),
    await mesh.add(NS, "frontend", await app("frontend-v1"), token),
  ];
  try {
    await mesh.joined(30_000);
    expect(sidecars[0]!.output()).toContain(`spiffe://trellis.local/ns/${NS}/sa/backend`);
    // frontend's app calls `backend` through its own sidecar; endpoints arrive as backend's proxy registers.
    await expect.poll(async () => (await call(sidecars[1]!.outbound, "backend")).body).toBe("backend-v1");

    const services = await request.get(`/api/v1/services?namespace=${NS}`, { headers: auth });
    const body = (await services.json()) as {
      items: { name: string; versions: string[]; healthyWorkloads: number }[];
    };
    expect(body.items.map((s) => [s.name, s.versions, s.healthyWorkloads]).sort()).toEqual([
      ["backend", ["v1"], 1],
      ["frontend", ["v1"], 1],
    ]);
    // Neither output holds the join token's secret.
    for (const s of sidecars) expect(s.output()).not.toContain(token.split(".")[2]);
  } finally {
    expect(await mesh.stop()).toEqual([0, 0]);
  }
});

test("a proxy with a foreign or revoked token stops with one clear line", async ({ request }) => {
  const appPort = (await app("nobody")).port;
  const foreign = await sidecar("intruder", appPort, `tj1.${"A".repeat(43)}.${"x".repeat(43)}`);
  expect(await foreign.exited).toBe(1);
  expect(foreign.output().trim().split("\n").at(-1)).toMatch(
    /^trellis: the control plane.s CA does not match the join token/,
  );
  expect(foreign.output()).not.toMatch(/\n\s+at /);

  const created = await request.post("/api/v1/join-tokens", { headers: auth, data: { namespace: NS } });
  const { id, token } = (await created.json()) as { id: string; token: string };
  expect((await request.delete(`/api/v1/join-tokens/${id}`, { headers: auth })).ok()).toBe(true);
  const revoked = await sidecar("intruder", appPort, token);
  expect(await revoked.exited).toBe(1);
  expect(revoked.output().trim().split("\n").at(-1)).toMatch(/^trellis: .*revoked/i);
});
