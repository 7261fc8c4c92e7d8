// What this replica compiles from: the resources and the registry as last read, and the snapshot of each
// proxy group compiled from them, built on first use and kept until the state is read again. What did not
// change keeps its identity across reads, which is what the compiler's memos key on.
import type { Db } from "@trellis/db";
import { loadRegistry, type RegistrySnapshot } from "./registry.js";
import type { Dirty } from "./recompute-scheduler.js";
import type { SnapshotStore } from "./snapshot-store.js";
import {
  groupKey,
  SnapshotBuilder,
  type CompileFn,
  type ProxyGroup,
  type ResourceRecord,
  type Snapshot,
} from "./snapshots.js";

export interface MeshStateOptions {
  db: Db;
  compile: CompileFn;
  trustDomain: string;
  /** Every snapshot built is added to it: the bases of the next deltas. */
  store: SnapshotStore;
  /** A group's snapshot was built; `groups` is how many this state has. */
  onBuilt: (groups: number) => void;
  log: (line: string) => void;
}

export interface MeshState {
  /** Reads again what changed and forgets every snapshot: the next ones compile against what was read. */
  reload(dirty?: Dirty): Promise<void>;
  /** The group's snapshot, or null when its config does not compile (the proxy keeps its last good one). */
  snapshotFor(group: ProxyGroup): Snapshot | null;
  /** Why the group's config did not compile in this state. */
  compileError(group: ProxyGroup): string | undefined;
  /** Whether the registry holds this service (telemetry checks). */
  knownService(namespace: string, name: string): boolean;
}

export function createMeshState({
  db,
  compile,
  trustDomain,
  store,
  onBuilt,
  log,
}: MeshStateOptions): MeshState {
  let resources: ResourceRecord[] = [];
  let registry: RegistrySnapshot = { services: [] };
  const snapshots = new Map<string, Snapshot>();
  const compileErrors = new Map<string, string>();
  /** Serializes the snapshots of one state: replaced with the state, so what it shares dies with it. */
  let builder = new SnapshotBuilder(compile);
  // `namespace/name` of the registry's services, built on first use after each registry load.
  let knownOf: { registry: RegistrySnapshot; keys: Set<string> } | null = null;

  return {
    async reload(dirty = { resources: true, registry: true }) {
      const [rows, reg] = await Promise.all([
        dirty.resources
          ? db.resource.findMany({ orderBy: [{ kind: "asc" }, { namespace: "asc" }, { name: "asc" }] })
          : null,
        dirty.registry ? loadRegistry(db) : registry,
      ]);
      if (rows !== null)
        resources = rows.map((r) => ({
          kind: r.kind,
          namespace: r.namespace,
          name: r.name,
          spec: r.spec,
          revision: r.revision,
        }));
      registry = reg;
      snapshots.clear();
      store.newGeneration();
      builder = new SnapshotBuilder(compile);
      compileErrors.clear();
    },
    snapshotFor(proxy) {
      const key = groupKey(proxy);
      const cached = snapshots.get(key);
      if (cached) return cached;
      if (compileErrors.has(key)) return null;
      const r = builder.build({ proxy, resources, registry, trustDomain });
      if (!r.ok) {
        // The proxy keeps its last good config; the rollout records why it got nothing new.
        compileErrors.set(key, r.error);
        log(`control plane: ${r.error}`);
        return null;
      }
      snapshots.set(key, r.snapshot);
      store.add(r.snapshot);
      onBuilt(snapshots.size);
      return r.snapshot;
    },
    compileError: (group) => compileErrors.get(groupKey(group)),
    knownService(namespace, name) {
      if (knownOf?.registry !== registry)
        knownOf = { registry, keys: new Set(registry.services.map((s) => `${s.namespace}/${s.name}`)) };
      return knownOf.keys.has(`${namespace}/${name}`);
    },
  };
}
