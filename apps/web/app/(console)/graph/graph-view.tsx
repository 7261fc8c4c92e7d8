"use client";
// The live service graph: polls observed traffic every 5 s, lays nodes out only when the set of nodes or
// edges changes (so nothing jumps on refresh), and opens a side panel on a node or an edge.
// Built to stay interactive at 500 services and 2,000 edges (docs/graph-benchmark.md): React Flow draws only
// what is on screen, node and edge objects stay the same while what they show does, and a big graph neither
// animates its edges nor labels them from far away.
import "@xyflow/react/dist/style.css";
import { useQuery } from "@tanstack/react-query";
import {
  Background,
  Controls,
  MarkerType,
  ReactFlow,
  ReactFlowProvider,
  useReactFlow,
  useStore,
  type Node,
  type NodeChange,
} from "@xyflow/react";
import { useCallback, useEffect, useMemo, useRef, useState, type ReactNode } from "react";
import { useTRPC } from "@/lib/trpc/client";
import { TimeWindowFields, useTimeWindow } from "../_components/time-window";
import { useGraphTraffic } from "./use-graph-traffic";
import { OPENING_VIEW, graphInputs } from "./graph-data";
import {
  NODE_HEIGHT,
  NODE_WIDTH,
  layoutGraph,
  namespaceBoxes,
  structureKey,
  type GraphLayout,
  type Position,
} from "./graph-layout";
import {
  DEFAULT_THRESHOLDS,
  EDGE_LABELS,
  animationSeconds,
  buildGraph,
  edgeLabel,
  matchesFind,
  type EdgeLabelKind,
  type VersionMode,
} from "./graph-model";
import {
  EdgeLabelsContext,
  SelectContext,
  edgeTypes,
  nodeTypes,
  type NamespaceNodeType,
  type Selection,
  type ServiceNodeType,
  type TrafficEdgeType,
} from "./graph-parts";
import { SidePanel } from "./side-panel";
import { ApiErrorAlert } from "../_components/api-error";

/** HH:MM in the browser's time zone, as the Ending field reads and writes it. */
const localTime = (iso: string | undefined) =>
  iso ? new Date(iso).toLocaleTimeString([], { hour: "2-digit", minute: "2-digit", hourCycle: "h23" }) : "";

const COLOURS = { idle: "#9aa4b2", healthy: "#2f6f4f", degraded: "#d97706", failing: "#b42318" } as const;
/**
 * One arrowhead object per colour, the same on every render: React Flow works out each edge's marker id from
 * its object (sorting its keys) again whenever the object is a new one, which was every edge at every poll.
 */
const MARKERS = Object.fromEntries(
  Object.entries(COLOURS).map(([health, color]) => [health, { type: MarkerType.ArrowClosed, color }]),
) as Record<keyof typeof COLOURS, { type: MarkerType; color: string }>;

const FIT = { padding: 0.2, maxZoom: 1 };

/**
 * Above this many edges none is animated: moving dashes on thousands of strokes repaint the whole canvas every
 * frame, which took panning a 2,000-edge graph to ~1.5 frames a second.
 */
const ANIMATE_MAX_EDGES = 200;
/** Above this many edges, labels show from LABELS_MIN_ZOOM on only: further out they are unreadable anyway. */
const LABELS_ALWAYS_MAX_EDGES = 300;
const LABELS_MIN_ZOOM = 0.55;

/** Turns edge labels off for a big graph seen from far; re-renders the edges only when that flips. */
function EdgeLabelsGate({ many, children }: { many: boolean; children: ReactNode }) {
  const near = useStore((s) => s.transform[2] >= LABELS_MIN_ZOOM);
  return <EdgeLabelsContext.Provider value={!many || near}>{children}</EdgeLabelsContext.Provider>;
}

/**
 * The same object as last time when nothing it holds changed, so React Flow and the memoized node and edge
 * components skip it: a find or a selection then re-renders only what it changes.
 */
function useStable<T extends { id: string }>(same: (a: T, b: T) => boolean) {
  const cache = useRef(new Map<string, T>());
  return (items: T[]): T[] => {
    const next = new Map<string, T>();
    const out = items.map((item) => {
      const old = cache.current.get(item.id);
      const kept = old !== undefined && same(old, item) ? old : item;
      next.set(item.id, kept);
      return kept;
    });
    cache.current = next;
    return out;
  };
}
const sameNode = (a: Node, b: Node) => {
  if (a.type !== b.type || a.position.x !== b.position.x || a.position.y !== b.position.y) return false;
  if (a.type === "namespace") return a.style?.width === b.style?.width && a.style?.height === b.style?.height;
  const [x, y] = [a.data as ServiceNodeType["data"], b.data as ServiceNodeType["data"]];
  return x.model === y.model && x.found === y.found && x.dimmed === y.dimmed && x.selected === y.selected;
};
const sameEdge = (a: TrafficEdgeType, b: TrafficEdgeType) =>
  a.data!.model === b.data!.model &&
  a.data!.label === b.data!.label &&
  a.data!.dimmed === b.data!.dimmed &&
  a.data!.selected === b.data!.selected &&
  a.data!.route === b.data!.route &&
  a.animated === b.animated;

/**
 * Frames the whole graph again when the user changes what it shows or the side panel narrows the canvas; never
 * on a refresh, so the view holds still while numbers update.
 */
function FitWhen({ view }: { view: string }) {
  const flow = useReactFlow();
  useEffect(() => {
    // After React Flow has measured the resized canvas (its ResizeObserver runs after layout).
    const timer = setTimeout(() => void flow.fitView(FIT), 80);
    return () => clearTimeout(timer);
  }, [view, flow]);
  return null;
}

/**
 * Brings what the find box matches into view (centred, zoomed to be readable; several matches framed
 * together), so every node can be reached after zooming, also from the keyboard: React Flow puts only what
 * is on screen in the page, so a node out of view cannot be tabbed to until it is brought in.
 */
function FindInView({
  find,
  positions,
}: {
  find: readonly string[];
  positions: ReadonlyMap<string, Position>;
}) {
  const flow = useReactFlow();
  const target = find.join("\n");
  useEffect(() => {
    if (target === "") return;
    // After typing pauses, so the view does not jump at every key.
    const timer = setTimeout(() => {
      const boxes = target
        .split("\n")
        .map((id) => positions.get(id))
        .filter((p): p is Position => p !== undefined);
      if (boxes.length === 0) return;
      const x0 = Math.min(...boxes.map((p) => p.x));
      const y0 = Math.min(...boxes.map((p) => p.y));
      const x1 = Math.max(...boxes.map((p) => p.x + NODE_WIDTH));
      const y1 = Math.max(...boxes.map((p) => p.y + NODE_HEIGHT));
      if (boxes.length === 1)
        void flow.setCenter((x0 + x1) / 2, (y0 + y1) / 2, {
          zoom: Math.min(1, Math.max(0.75, flow.getZoom())),
        });
      else void flow.fitBounds({ x: x0, y: y0, width: x1 - x0, height: y1 - y0 }, { padding: 0.2 });
    }, 300);
    return () => clearTimeout(timer);
    // positions: a refresh that moves nothing must not move the view either; the matches decide.
  }, [target, flow]);
  return null;
}

export function GraphView({ initialNamespace }: { initialNamespace?: string }) {
  const trpc = useTRPC();
  const [namespace, setNamespace] = useState(initialNamespace ?? "");
  const timeWindow = useTimeWindow(OPENING_VIEW.minutes);
  const minutes = timeWindow.value.minutes;
  const [versions, setVersions] = useState<VersionMode>(OPENING_VIEW.versions);
  const [labelKind, setLabelKind] = useState<EdgeLabelKind>("rps");
  const [find, setFind] = useState("");
  const [hideIdle, setHideIdle] = useState(false);
  // Health thresholds as % of requests answered 5xx, editable; defaults 0.1% and 10%.
  const [degradedPct, setDegradedPct] = useState(DEFAULT_THRESHOLDS.degraded * 100);
  const [failingPct, setFailingPct] = useState(DEFAULT_THRESHOLDS.failing * 100);
  const [selected, setSelected] = useState<Selection>(null);
  // Closing the panel gives focus back to the node or edge label that opened it (found again by its id: the
  // button may have been re-rendered meanwhile), so keyboard users carry on from where they were. Done after
  // the panel is gone, and once more after the canvas has widened and been fitted again (FitWhen), in case
  // React Flow drew the node anew meanwhile.
  const returnFocus = useRef<Selection>(null);
  const closePanel = useCallback(() => {
    setSelected((sel) => {
      returnFocus.current = sel;
      return null;
    });
  }, []);
  useEffect(() => {
    const sel = returnFocus.current;
    if (selected !== null || sel === null) return;
    returnFocus.current = null;
    const attr = sel.kind === "node" ? "data-node-id" : "data-edge-id";
    const focus = () => document.querySelector<HTMLElement>(`[${attr}="${CSS.escape(sel.id)}"]`)?.focus();
    focus();
    const again = setTimeout(() => {
      if (document.activeElement === null || document.activeElement === document.body) focus();
    }, 250);
    return () => clearTimeout(again);
  }, [selected]);
  useEffect(() => {
    if (!selected) return;
    const onKey = (e: KeyboardEvent) => {
      if (e.key === "Escape" && !e.defaultPrevented) closePanel();
    };
    document.addEventListener("keydown", onKey);
    return () => document.removeEventListener("keydown", onKey);
  }, [selected, closePanel]);

  const live = timeWindow.live;
  const poll = timeWindow.refetchInterval;
  const untilIso = timeWindow.query.until;
  // The graph API; the status codes only for an edge's panel (use-graph-traffic.ts).
  const traffic = useGraphTraffic(
    { ...(namespace ? { namespace } : {}), minutes, versions, ...(untilIso ? { until: untilIso } : {}) },
    poll,
    selected?.kind === "edge",
  );
  const inputs = graphInputs({ ...(namespace ? { namespace } : {}), minutes, versions });
  const services = useQuery(trpc.service.list.queryOptions(inputs.services, { refetchInterval: poll }));
  const resources = useQuery(trpc.resource.list.queryOptions(inputs.resources, { refetchInterval: poll }));

  const namespaces = useMemo(
    () => [...new Set((services.data?.items ?? []).map((s) => s.namespace))].sort(),
    [services.data],
  );
  const model = useMemo(() => {
    if (!traffic.data || !services.data) return null;
    return buildGraph({
      edges: traffic.data.edges,
      services: services.data.items.filter((s) => !namespace || s.namespace === namespace),
      resources: resources.data?.items ?? [],
      versions,
      hideIdle,
      thresholds: { degraded: degradedPct / 100, failing: failingPct / 100 },
    });
  }, [traffic.data, services.data, resources.data, namespace, versions, hideIdle, degradedPct, failingPct]);

  // Lay out again only when the shape changes. Where users dragged a node it stays, across layouts too;
  // the edges at a dragged node lose their route and are drawn as plain curves.
  const key = useMemo(() => (model ? structureKey(model.nodes, model.edges) : ""), [model]);
  const [layout, setLayout] = useState<{ key: string; laid: GraphLayout; dragged: Map<string, Position> }>({
    key: "",
    laid: { positions: new Map(), routes: new Map(), engine: "quick" },
    dragged: new Map(),
  });
  if (model && layout.key !== key) {
    const seen = new Map([...layout.laid.positions, ...layout.dragged]);
    setLayout({ key, laid: layoutGraph(model.nodes, model.edges, seen), dragged: layout.dragged });
  }
  const positions = useMemo(
    () =>
      layout.dragged.size === 0
        ? layout.laid.positions
        : new Map([...layout.laid.positions, ...layout.dragged]),
    [layout],
  );

  const onNodesChange = (changes: NodeChange[]) => {
    const moves = changes.filter((c) => c.type === "position" && c.position !== undefined);
    if (moves.length === 0) return;
    setLayout((l) => {
      const dragged = new Map(l.dragged);
      for (const c of moves) if (c.type === "position" && c.position) dragged.set(c.id, c.position);
      return { ...l, dragged };
    });
  };

  const found = useMemo(
    () => new Set((model?.nodes ?? []).filter((n) => matchesFind(n, find)).map((n) => n.id)),
    [model, find],
  );
  const anyFound = found.size > 0;
  const selectedNode = selected?.kind === "node" ? selected.id : null;
  const selectedEdge = selected?.kind === "edge" ? selected.id : null;
  const stableNodes = useStable<Node>(sameNode);
  const stableEdges = useStable<TrafficEdgeType>(sameEdge);

  const flowNodes = useMemo(() => {
    const out: Node[] = [];
    if (!model) return out;
    for (const b of namespaceBoxes(model.nodes, positions)) {
      out.push({
        id: `namespace:${b.namespace}`,
        type: "namespace",
        position: { x: b.x, y: b.y },
        data: { namespace: b.namespace },
        style: { width: b.width, height: b.height },
        draggable: false,
        selectable: false,
        zIndex: -1,
        className: "graph-namespace",
      } satisfies NamespaceNodeType);
    }
    for (const n of model.nodes) {
      const isFound = found.has(n.id);
      out.push({
        id: n.id,
        type: "service",
        position: positions.get(n.id) ?? { x: 0, y: 0 },
        data: {
          model: n,
          found: isFound,
          dimmed: anyFound && !isFound,
          selected: selectedNode === n.id,
        },
        ariaLabel: n.id,
      } satisfies ServiceNodeType);
    }
    return stableNodes(out);
    // stableNodes and stableEdges only read and refresh their caches: not dependencies.
  }, [model, positions, found, anyFound, selectedNode]);

  const flowEdges = useMemo(() => {
    const out: TrafficEdgeType[] = [];
    if (!model) return out;
    const animate = model.edges.length <= ANIMATE_MAX_EDGES;
    for (const e of model.edges) {
      const colour = COLOURS[e.health];
      const seconds = animate ? animationSeconds(e.rps) : 0;
      const touchesFound = found.has(e.source) || found.has(e.target);
      const route =
        layout.dragged.has(e.source) || layout.dragged.has(e.target)
          ? undefined
          : layout.laid.routes.get(e.id);
      out.push({
        id: e.id,
        type: "traffic",
        source: e.source,
        target: e.target,
        animated: seconds > 0,
        data: {
          model: e,
          label: edgeLabel(e, labelKind),
          dimmed: anyFound && !touchesFound,
          selected: selectedEdge === e.id,
          ...(route ? { route } : {}),
        },
        style: {
          stroke: colour,
          strokeWidth: 1.5 + Math.min(4, Math.log10(1 + e.rps)),
          ...(seconds > 0 ? { animationDuration: `${seconds}s` } : {}),
          opacity: anyFound && !touchesFound ? 0.25 : 1,
        },
        markerEnd: MARKERS[e.health],
      } satisfies TrafficEdgeType);
    }
    return stableEdges(out);
  }, [model, found, anyFound, labelKind, selectedEdge, layout]);

  const error = traffic.error ?? services.error;
  return (
    <div className="graph-page">
      <form className="graph-controls" aria-label="Graph options" onSubmit={(e) => e.preventDefault()}>
        <label>
          Namespace
          <select value={namespace} onChange={(e) => setNamespace(e.target.value)}>
            <option value="">All namespaces</option>
            {namespaces.map((ns) => (
              <option key={ns} value={ns}>
                {ns}
              </option>
            ))}
            {namespace && !namespaces.includes(namespace) && <option value={namespace}>{namespace}</option>}
          </select>
        </label>
        <TimeWindowFields value={timeWindow.value} onChange={timeWindow.setValue} />
        <label>
          Nodes
          <select value={versions} onChange={(e) => setVersions(e.target.value as VersionMode)}>
            <option value="merged">One per service</option>
            <option value="split">One per version</option>
          </select>
        </label>
        <label>
          Edge labels
          <select value={labelKind} onChange={(e) => setLabelKind(e.target.value as EdgeLabelKind)}>
            {EDGE_LABELS.map((l) => (
              <option key={l.value} value={l.value}>
                {l.label}
              </option>
            ))}
          </select>
        </label>
        <label>
          Find
          <input
            type="search"
            value={find}
            onChange={(e) => setFind(e.target.value)}
            placeholder="service…"
          />
        </label>
        <label>
          Degraded above
          <input
            type="number"
            className="graph-threshold"
            min={0}
            max={100}
            step="any"
            value={degradedPct}
            onChange={(e) => setDegradedPct(Math.max(0, Number(e.target.value)))}
            aria-describedby="graph-threshold-unit"
          />
        </label>
        <label>
          Failing above
          <input
            type="number"
            className="graph-threshold"
            min={0}
            max={100}
            step="any"
            value={failingPct}
            onChange={(e) => setFailingPct(Math.max(0, Number(e.target.value)))}
            aria-describedby="graph-threshold-unit"
          />
        </label>
        <span id="graph-threshold-unit" className="muted graph-hint graph-unit">
          % 5xx
        </span>
        <label className="graph-check">
          <input type="checkbox" checked={hideIdle} onChange={(e) => setHideIdle(e.target.checked)} />
          Hide idle
        </label>
      </form>
      {error && <ApiErrorAlert error={error} label="Could not load the graph" />}
      {!model ? (
        !error && <p className="muted">Loading…</p>
      ) : model.nodes.length === 0 ? (
        <div className="empty">
          <h2>Nothing to draw{namespace ? ` in ${namespace}` : ""}</h2>
          <p>
            Services appear as their proxies join the mesh; calls appear as traffic flows through them.
            {hideIdle && " Idle services are hidden."}
          </p>
        </div>
      ) : (
        <div className="graph-body">
          <SelectContext.Provider value={setSelected}>
            <div className="graph-canvas" aria-label="Service graph">
              <ReactFlowProvider>
                <EdgeLabelsGate many={flowEdges.length > LABELS_ALWAYS_MAX_EDGES}>
                  <ReactFlow
                    nodes={flowNodes}
                    edges={flowEdges}
                    nodeTypes={nodeTypes}
                    edgeTypes={edgeTypes}
                    onNodesChange={onNodesChange}
                    nodesConnectable={false}
                    nodesFocusable={false}
                    edgesFocusable={false}
                    elementsSelectable={false}
                    onPaneClick={() => setSelected(null)}
                    fitView
                    fitViewOptions={FIT}
                    minZoom={0.1}
                    onlyRenderVisibleElements
                    proOptions={{ hideAttribution: true }}
                  >
                    <Background gap={24} />
                    <Controls showInteractive={false} fitViewOptions={FIT} />
                    <FitWhen view={`${namespace}|${versions}|${hideIdle}|${selected ? 1 : 0}`} />
                    <FindInView find={[...found].sort()} positions={positions} />
                  </ReactFlow>
                </EdgeLabelsGate>
              </ReactFlowProvider>
            </div>
          </SelectContext.Provider>
          {selected && (
            <SidePanel
              selection={selected}
              model={model}
              range={{ minutes, ...(untilIso ? { until: untilIso } : {}) }}
              onClose={closePanel}
            />
          )}
        </div>
      )}
      {model && (
        <p className="muted graph-legend">
          <span className="graph-swatch health-healthy" /> healthy{" "}
          <span className="graph-swatch health-degraded" /> 5xx &gt; {degradedPct}%{" "}
          <span className="graph-swatch health-failing" /> 5xx &gt; {failingPct}%{" "}
          <span className="graph-swatch health-idle" /> idle · window {localTime(traffic.data?.from)}–
          {localTime(traffic.data?.until)}
          {live ? ", refreshing every 5 s" : ""}
        </p>
      )}
    </div>
  );
}
