"use client";
// What React Flow draws: a service node, a traffic edge with its label, a namespace box. Each is a button
// where it can be clicked, so the graph also works from the keyboard and for screen readers.
import {
  BaseEdge,
  EdgeLabelRenderer,
  Handle,
  Position,
  getBezierPath,
  type Edge,
  type EdgeProps,
  type Node,
  type NodeProps,
} from "@xyflow/react";
import { createContext, memo, useContext } from "react";
import { LABEL_WIDTH, routePath, type EdgeRoute } from "./graph-layout";
import { formatPercent, formatRps } from "../_components/format";
import type { GraphEdgeModel, GraphNodeModel } from "./graph-model";

export type Selection = { kind: "node" | "edge"; id: string } | null;
/** Lets a node or an edge label open the side panel without threading callbacks through React Flow's data. */
export const SelectContext = createContext<(s: Selection) => void>(() => {});
/**
 * Whether edges draw their labels. Off for a big graph seen from far (the labels are unreadable there and
 * thousands of them are most of the page's work); see graph-view.tsx.
 */
export const EdgeLabelsContext = createContext(true);

export type ServiceNodeData = { model: GraphNodeModel; found: boolean; dimmed: boolean; selected: boolean };
export type ServiceNodeType = Node<ServiceNodeData, "service">;
export type NamespaceNodeData = { namespace: string };
export type NamespaceNodeType = Node<NamespaceNodeData, "namespace">;
export type TrafficEdgeData = {
  model: GraphEdgeModel;
  label: string;
  dimmed: boolean;
  selected: boolean;
  /** Where the layered layout ran it; absent for the quick layout, or once an end has been dragged. */
  route?: EdgeRoute;
};
export type TrafficEdgeType = Edge<TrafficEdgeData, "traffic">;

export function serviceName(n: Pick<GraphNodeModel, "service" | "version">): string {
  return n.version === "*" ? n.service : `${n.service} ${n.version}`;
}

/** What a node shows under its name. */
export function nodeStats(n: GraphNodeModel): string {
  return n.idle ? "idle" : `${formatRps(n.rps)} · ${formatPercent(n.errorRate)} 5xx`;
}

/**
 * A node button's accessible name: what it shows first (name, numbers, badges), as speech input users say it
 * (WCAG 2.5.3, label in name), then what only its colour and box say.
 */
export function nodeName(n: GraphNodeModel): string {
  const badges = n.badges.map((b) => ` ${b.label}`).join("");
  return `${serviceName(n)} ${nodeStats(n)}${badges}, service in ${n.namespace}, ${n.health}`;
}

// Memoized: React Flow re-renders a node's wrapper on every store change it sees; the node itself need only
// re-render when its data (kept stable by graph-view.tsx while unchanged) does.
export const ServiceNode = memo(function ServiceNode({ data }: NodeProps<ServiceNodeType>) {
  const select = useContext(SelectContext);
  const n = data.model;
  const cls = [
    "graph-node",
    `health-${n.health}`,
    data.found ? "found" : "",
    data.dimmed ? "dimmed" : "",
    data.selected ? "selected" : "",
    n.registered ? "" : "unregistered",
  ].join(" ");
  return (
    <>
      <Handle type="target" position={Position.Left} isConnectable={false} />
      <button
        type="button"
        className={cls}
        aria-label={nodeName(n)}
        aria-pressed={data.selected}
        data-node-id={n.id}
        onClick={() => select({ kind: "node", id: n.id })}
      >
        <span className="graph-node-name">
          {n.service}
          {n.version !== "*" && <span className="graph-node-version">{n.version}</span>}
        </span>
        <span className="graph-node-stats">{nodeStats(n)}</span>
        {n.badges.length > 0 && (
          <span className="graph-node-badges">
            {n.badges.map((b) => (
              <span key={b.kind} className={`graph-badge graph-badge-${b.kind}`} title={b.detail}>
                {b.label}
              </span>
            ))}
          </span>
        )}
      </button>
      <Handle type="source" position={Position.Right} isConnectable={false} />
    </>
  );
});

export function NamespaceNode({ data }: NodeProps<NamespaceNodeType>) {
  return <div className="graph-namespace-label">{data.namespace}</div>;
}

/** A padlock, drawn inline: emoji fonts are not everywhere. */
function Lock() {
  return (
    <svg className="graph-lock" viewBox="0 0 16 16" width="11" height="11" aria-hidden="true">
      <rect x="3" y="7" width="10" height="8" rx="1.5" fill="currentColor" />
      <path d="M5 7V5a3 3 0 0 1 6 0v2" fill="none" stroke="currentColor" strokeWidth="1.8" />
    </svg>
  );
}

export const TrafficEdge = memo(function TrafficEdge(props: EdgeProps<TrafficEdgeType>) {
  const select = useContext(SelectContext);
  const labels = useContext(EdgeLabelsContext);
  const d = props.data!;
  const e = d.model;
  const [path, x, y] = d.route
    ? [routePath(d.route.points), d.route.label.x, d.route.label.y]
    : getBezierPath(props);
  return (
    <>
      {/* No second, invisible path to widen the edge for the pointer (interactionWidth): edges are not
          clickable here (their labels are buttons), and at 2,000 edges it doubled the paths to lay out. */}
      <BaseEdge
        id={props.id}
        path={path}
        markerEnd={props.markerEnd}
        style={props.style}
        interactionWidth={0}
      />
      {labels && (
        <EdgeLabelRenderer>
          <button
            type="button"
            className={`graph-edge-label nodrag nopan health-${e.health}${d.dimmed ? " dimmed" : ""}${d.selected ? " selected" : ""}`}
            style={{
              transform: `translate(-50%, -50%) translate(${x}px, ${y}px)`,
              // The room the layered layout gave it, so it stays off the nodes.
              ...(d.route ? { maxWidth: LABEL_WIDTH } : {}),
            }}
            data-edge-id={e.id}
            aria-label={`Calls from ${e.source} to ${e.target}: ${d.label}${e.mtls ? ", mutual TLS" : ""}`}
            aria-pressed={d.selected}
            onClick={() => select({ kind: "edge", id: e.id })}
          >
            {e.mtls && <Lock />}
            <span className="graph-edge-label-text">{d.label}</span>
          </button>
        </EdgeLabelRenderer>
      )}
    </>
  );
});

export const nodeTypes = { service: ServiceNode, namespace: NamespaceNode };
export const edgeTypes = { traffic: TrafficEdge };
