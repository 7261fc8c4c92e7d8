import type { ChangeStatus } from "@trellis/contracts";

const LABEL: Record<ChangeStatus, string> = {
  open: "Open",
  approved: "Approved",
  rejected: "Rejected",
  applying: "Applying",
  applied: "Applied",
  failed: "Failed",
  stale: "Stale",
  cancelled: "Cancelled",
  rolled_back: "Rolled back",
};

export function StatusBadge({ status }: { status: ChangeStatus }) {
  return <span className={`badge status-${status}`}>{LABEL[status]}</span>;
}

export function when(iso: string | null): string {
  if (iso === null) return "—";
  return new Date(iso).toLocaleString();
}
