// The demo's initial state and its join token: seeded by `trellis up --demo` before it starts the demo in its
// own process, and by `trellis demo seed` (a one-shot container in docker-compose.yml) before the demo's
// sidecars start in theirs. One function, so both meshes start from the same state.
// Loaded only when one of those commands runs: it pulls in Prisma and the services.
import { setTimeout as sleep } from "node:timers/promises";
import { checkDatabase, type Db } from "@trellis/db";
import {
  createJoinToken,
  revokeJoinToken,
  seedResourcesAsSystemChange,
  SYSTEM_ACTOR,
} from "@trellis/services";
import { DEMO_NAMESPACE, demoResources } from "@trellis/demo";
import { CliError } from "../errors.js";

export interface DemoSeed {
  /** A new join token for the namespace `demo` (`tj1.…`), for the demo's sidecars. */
  token: string;
  /** What was seeded, for a person; null when the initial state was there already. */
  seeded: string | null;
}

/**
 * Seeds the demo's initial state once (an applied system change: mTLS strict, all `reviews` traffic to v1; a
 * later run finds it and keeps whatever people changed since) and creates a join token for the namespace
 * `demo`. `by` names the command, for the change's description and the token's name.
 */
export async function seedDemo(
  db: Db,
  by: string,
  opts: { revokeEarlierTokens?: boolean } = {},
): Promise<DemoSeed> {
  const seeded = await seedResourcesAsSystemChange(db, SYSTEM_ACTOR, {
    title: "Demo mesh: initial state",
    description: `mTLS strict mesh-wide, and every call to reviews goes to v1. Seeded by \`${by}\`.`,
    reason: `the demo's initial state, seeded by ${by}`,
    resources: demoResources(),
  });
  // A token per run, only for the namespace demo; the sidecars use it to join (and to rejoin after a restart).
  // `trellis up --demo` runs every sidecar that holds one of its tokens, so the previous runs' tokens are
  // unused now and are revoked rather than left valid forever. (In docker-compose.yml sidecars from before a
  // re-run of the seed may still hold theirs, so `demo seed` leaves them.)
  if (opts.revokeEarlierTokens) {
    const earlier = await db.joinToken.findMany({
      where: { namespace: DEMO_NAMESPACE, name: by, createdById: null, revokedAt: null },
      select: { id: true },
    });
    for (const t of earlier) await revokeJoinToken(db, SYSTEM_ACTOR, t.id);
  }
  const { token } = await createJoinToken(db, SYSTEM_ACTOR, { namespace: DEMO_NAMESPACE, name: by });
  return {
    token,
    seeded:
      seeded.change === null
        ? null
        : `seeded ${seeded.created.join(", ")} as change #${seeded.change} (generation ${seeded.generation})`,
  };
}

/**
 * Waits until the mesh can take the seed: the database answers, its schema is there and the control plane
 * has created the mesh CA (a join token carries the CA's fingerprint). In docker-compose.yml the seed starts
 * beside the control plane, which migrates and creates the CA in its first seconds.
 */
export async function waitForMeshCa(
  databaseUrl: string,
  db: Db,
  timeoutMs: number,
  say: (line: string) => void,
): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  let said = "";
  for (;;) {
    let reason: string;
    try {
      await checkDatabase(databaseUrl);
      const ca = await db.certificateAuthority.findFirst({ where: { active: true }, select: { id: true } });
      if (ca) return;
      reason = "the mesh CA does not exist yet (the control plane creates it when it first starts)";
    } catch (e) {
      // Connection refused while PostgreSQL starts, or no tables before the control plane has migrated.
      reason = (e as Error).message.split("\n")[0]!;
    }
    if (Date.now() >= deadline)
      throw new CliError(`gave up after ${Math.round(timeoutMs / 1000)} s waiting for the mesh: ${reason}`);
    if (reason !== said) say(`waiting: ${reason}`);
    said = reason;
    await sleep(500);
  }
}
