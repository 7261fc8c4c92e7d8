"use client";
// The live service graph: polls observed traffic every 5 s, lays nodes out only when the set of nodes or
// edges changes (so nothing jumps on refresh), and opens a side panel on a node or an edge.
import "@xyflow/react/dist/style.css";
import { useQuery } from "@tanstack/react-query";
import {
  Background,
  Controls,
  MarkerType,
  ReactFlow,
  useReactFlow,
  type Edge,
  type Node,
  type NodeChange,
} from "@xyflow/react";
import { useEffect, useMemo, useState } from "react";
import { useTRPC } from "@/lib/trpc/client";
import { layoutGraph, namespaceBoxes, structureKey, type Position } from "./graph-layout";
import {
  DEFAULT_THRESHOLDS,
  EDGE_LABELS,
  WINDOWS,
  animationSeconds,
  buildGraph,
  edgeLabel,
  matchesFind,
  type EdgeLabelKind,
  type VersionMode,
} from "./graph-model";
import {
  SelectContext,
  edgeTypes,
  nodeTypes,
  type NamespaceNodeType,
  type Selection,
  type ServiceNodeType,
  type TrafficEdgeType,
} from "./graph-parts";
import { SidePanel } from "./side-panel";

const COLOURS = { idle: "#9aa4b2", healthy: "#2f6f4f", degraded: "#d97706", failing: "#b42318" } as const;

const FIT = { padding: 0.2, maxZoom: 1 };

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

export function GraphView({ initialNamespace }: { initialNamespace?: string }) {
  const trpc = useTRPC();
  const [namespace, setNamespace] = useState(initialNamespace ?? "");
  const [minutes, setMinutes] = useState(5);
  const [until, setUntil] = useState(""); // datetime-local; empty: live
  const [versions, setVersions] = useState<VersionMode>("merged");
  const [labelKind, setLabelKind] = useState<EdgeLabelKind>("rps");
  const [find, setFind] = useState("");
  const [hideIdle, setHideIdle] = useState(false);
  // Health thresholds as % of requests answered 5xx, editable; defaults 0.1% and 10%.
  const [degradedPct, setDegradedPct] = useState(DEFAULT_THRESHOLDS.degraded * 100);
  const [failingPct, setFailingPct] = useState(DEFAULT_THRESHOLDS.failing * 100);
  const [selected, setSelected] = useState<Selection>(null);

  const live = until === "";
  const poll = live ? 5_000 : false;
  const untilIso = live ? undefined : new Date(until).toISOString();
  const traffic = useQuery(
    trpc.traffic.edges.queryOptions(
      { ...(namespace ? { namespace } : {}), minutes, versions, ...(untilIso ? { until: untilIso } : {}) },
      { refetchInterval: poll, placeholderData: (prev) => prev },
    ),
  );
  const services = useQuery(trpc.service.list.queryOptions({}, { refetchInterval: poll }));
  const resources = useQuery(
    trpc.resource.list.queryOptions(namespace ? { namespace } : {}, { refetchInterval: poll }),
  );

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

  // Lay out again only when the shape changes; keep the positions users saw (or dragged to).
  const key = model ? structureKey(model.nodes, model.edges) : "";
  const [layout, setLayout] = useState<{ key: string; positions: Map<string, Position> }>({
    key: "",
    positions: new Map(),
  });
  if (model && layout.key !== key)
    setLayout({ key, positions: layoutGraph(model.nodes, model.edges, layout.positions) });

  const onNodesChange = (changes: NodeChange[]) => {
    const moves = changes.filter((c) => c.type === "position" && c.position !== undefined);
    if (moves.length === 0) return;
    setLayout((l) => {
      const positions = new Map(l.positions);
      for (const c of moves) if (c.type === "position" && c.position) positions.set(c.id, c.position);
      return { ...l, positions };
    });
  };

  const anyFound = model?.nodes.some((n) => matchesFind(n, find)) ?? false;
  const flowNodes: Node[] = [];
  const flowEdges: Edge[] = [];
  if (model) {
    for (const b of namespaceBoxes(model.nodes, layout.positions)) {
      flowNodes.push({
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
      const found = matchesFind(n, find);
      flowNodes.push({
        id: n.id,
        type: "service",
        position: layout.positions.get(n.id) ?? { x: 0, y: 0 },
        data: {
          model: n,
          found,
          dimmed: anyFound && !found,
          selected: selected?.kind === "node" && selected.id === n.id,
        },
        ariaLabel: n.id,
      } satisfies ServiceNodeType);
    }
    for (const e of model.edges) {
      const colour = COLOURS[e.health];
      const seconds = animationSeconds(e.rps);
      const touchesFound =
        anyFound && model.nodes.some((n) => (n.id === e.source || n.id === e.target) && matchesFind(n, find));
      flowEdges.push({
        id: e.id,
        type: "traffic",
        source: e.source,
        target: e.target,
        animated: seconds > 0,
        data: {
          model: e,
          label: edgeLabel(e, labelKind),
          dimmed: anyFound && !touchesFound,
          selected: selected?.kind === "edge" && selected.id === e.id,
        },
        style: {
          stroke: colour,
          strokeWidth: 1.5 + Math.min(4, Math.log10(1 + e.rps)),
          animationDuration: `${seconds}s`,
          opacity: anyFound && !touchesFound ? 0.25 : 1,
        },
        markerEnd: { type: MarkerType.ArrowClosed, color: colour },
      } satisfies TrafficEdgeType);
    }
  }

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
        <label>
          Window
          <select value={minutes} onChange={(e) => setMinutes(Number(e.target.value))}>
            {WINDOWS.map((w) => (
              <option key={w.minutes} value={w.minutes}>
                {w.label}
              </option>
            ))}
          </select>
        </label>
        <label>
          Ending
          <input
            type="datetime-local"
            value={until}
            onChange={(e) => setUntil(e.target.value)}
            aria-describedby="graph-until-hint"
          />
          <span id="graph-until-hint" className="muted graph-hint">
            {live ? "now (live)" : "replaying a past window"}
          </span>
        </label>
        {!live && (
          <button type="button" className="secondary" onClick={() => setUntil("")}>
            Back to live
          </button>
        )}
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
      {error && (
        <p role="alert" className="error">
          Could not load the graph: {error.message}
        </p>
      )}
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
                proOptions={{ hideAttribution: true }}
              >
                <Background gap={24} />
                <Controls showInteractive={false} fitViewOptions={FIT} />
                <FitWhen view={`${namespace}|${versions}|${hideIdle}|${selected ? 1 : 0}`} />
              </ReactFlow>
            </div>
          </SelectContext.Provider>
          {selected && (
            <SidePanel
              selection={selected}
              model={model}
              range={{ minutes, ...(untilIso ? { until: untilIso } : {}) }}
              onClose={() => setSelected(null)}
            />
          )}
        </div>
      )}
      {model && (
        <p className="muted graph-legend">
          <span className="graph-swatch health-healthy" /> healthy{" "}
          <span className="graph-swatch health-degraded" /> 5xx &gt; {degradedPct}%{" "}
          <span className="graph-swatch health-failing" /> 5xx &gt; {failingPct}%{" "}
          <span className="graph-swatch health-idle" /> idle · window {traffic.data?.from.slice(11, 16)}–
          {traffic.data?.until.slice(11, 16)} UTC{live ? ", refreshing every 5 s" : ""}
        </p>
      )}
    </div>
  );
}
