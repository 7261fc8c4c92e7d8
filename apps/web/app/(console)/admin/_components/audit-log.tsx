"use client";
// The audit log, read-only: filters, newest first, "load more" with the server's cursor, details on demand.
// There is nothing to edit or delete here, and no API for it either.
import "@/lib/zod-jitless";
import { useInfiniteQuery } from "@tanstack/react-query";
import { useState, type FormEvent } from "react";
import { ZAuditListInput, type AuditEvent, type AuditListInput } from "@trellis/contracts";
import { useTRPC } from "@/lib/trpc/client";
import { ErrorAlert, FieldError, zodFieldErrors, type FieldErrors } from "./errors";
import { optional, when } from "./format";
import { Refused } from "./refused";
import { useRights } from "./use-me";

export const AUDIT_PAGE_SIZE = 25;

type Filters = Pick<AuditListInput, "actor" | "action" | "namespace" | "since" | "until">;

const ZFilterFields = ZAuditListInput.pick({ actor: true, action: true, namespace: true });

/** A datetime-local value (the browser's time zone) as an ISO instant; undefined when empty or invalid. */
function instant(v: FormDataEntryValue | null): string | undefined | null {
  const s = optional(v);
  if (s === undefined) return undefined;
  const d = new Date(s);
  return Number.isNaN(d.getTime()) ? null : d.toISOString();
}

export function AuditLog() {
  const { rights, error, isPending } = useRights();
  if (isPending) return <p className="admin-muted">Loading…</p>;
  if (!rights) return <ErrorAlert error={error} />;
  if (!rights.anyAdmin) return <Refused what="The audit log is for admins." />;
  return <AuditTable />;
}

function AuditTable() {
  const trpc = useTRPC();
  const [filters, setFilters] = useState<Filters>({});
  const [errors, setErrors] = useState<FieldErrors>({});
  const [open, setOpen] = useState<Set<string>>(new Set());
  const events = useInfiniteQuery(
    trpc.audit.list.infiniteQueryOptions(
      { ...filters, limit: AUDIT_PAGE_SIZE },
      { getNextPageParam: (page) => page.nextCursor ?? undefined },
    ),
  );

  function onSubmit(e: FormEvent<HTMLFormElement>) {
    e.preventDefault();
    const form = new FormData(e.currentTarget);
    const fields = ZFilterFields.safeParse({
      actor: optional(form.get("actor")),
      action: optional(form.get("action")),
      namespace: optional(form.get("namespace")),
    });
    const since = instant(form.get("since"));
    const until = instant(form.get("until"));
    const errs: FieldErrors = fields.success ? {} : zodFieldErrors(fields.error);
    if (since === null) errs.since = "not a valid time";
    if (until === null) errs.until = "not a valid time";
    if (since && until && since >= until) errs.until = "must be after From";
    setErrors(errs);
    if (!fields.success || Object.keys(errs).length > 0) return;
    setOpen(new Set());
    setFilters({ ...fields.data, since: since ?? undefined, until: until ?? undefined });
  }

  const toggle = (id: string) =>
    setOpen((s) => {
      const next = new Set(s);
      if (!next.delete(id)) next.add(id);
      return next;
    });
  const items = events.data?.pages.flatMap((p) => p.items) ?? [];
  const field = (name: string) => ({
    name,
    "aria-invalid": errors[name] ? true : undefined,
    "aria-describedby": errors[name] ? `audit-${name}-error` : undefined,
  });

  return (
    <>
      <form
        className="admin-panel admin-form"
        aria-label="Filter the audit log"
        onSubmit={onSubmit}
        noValidate
      >
        <div className="admin-grid">
          <div className="admin-field">
            <label>
              Actor
              <input {...field("actor")} autoComplete="off" placeholder="user name" />
            </label>
            <FieldError id="audit-actor-error" message={errors.actor} />
          </div>
          <div className="admin-field">
            <label>
              Action
              <input {...field("action")} autoComplete="off" placeholder="e.g. user.create, or role" />
            </label>
            <FieldError id="audit-action-error" message={errors.action} />
          </div>
          <div className="admin-field">
            <label>
              Namespace
              <input {...field("namespace")} autoComplete="off" />
            </label>
            <FieldError id="audit-namespace-error" message={errors.namespace} />
          </div>
          <div className="admin-field">
            <label>
              From
              <input {...field("since")} type="datetime-local" />
            </label>
            <FieldError id="audit-since-error" message={errors.since} />
          </div>
          <div className="admin-field">
            <label>
              Until
              <input {...field("until")} type="datetime-local" />
            </label>
            <FieldError id="audit-until-error" message={errors.until} />
          </div>
        </div>
        <div className="admin-buttons">
          <button type="submit">Apply filters</button>
          <button
            type="reset"
            className="secondary"
            onClick={() => {
              setErrors({});
              setFilters({});
            }}
          >
            Clear
          </button>
        </div>
      </form>

      {events.isError && <ErrorAlert error={events.error} label="Could not load the audit log" />}
      {events.isPending && <p className="admin-muted">Loading events…</p>}
      {events.data &&
        (items.length === 0 ? (
          <div className="admin-empty">No events match.</div>
        ) : (
          <table aria-label="Audit log" className="admin-table">
            <caption>
              Audit events, newest first ({items.length}
              {events.hasNextPage ? "+" : ""} shown)
            </caption>
            <thead>
              <tr>
                <th scope="col">Time</th>
                <th scope="col">Actor</th>
                <th scope="col">Action</th>
                <th scope="col">Target</th>
                <th scope="col">Namespace</th>
                <th scope="col">
                  <span className="admin-sr">Details</span>
                </th>
              </tr>
            </thead>
            {items.map((ev) => (
              <EventRows key={ev.id} ev={ev} open={open.has(ev.id)} onToggle={() => toggle(ev.id)} />
            ))}
          </table>
        ))}
      {events.hasNextPage && (
        <div className="admin-buttons admin-more">
          <button
            type="button"
            className="secondary"
            disabled={events.isFetchingNextPage}
            onClick={() => void events.fetchNextPage()}
          >
            {events.isFetchingNextPage ? "Loading…" : "Load more"}
          </button>
        </div>
      )}
    </>
  );
}

function EventRows({ ev, open, onToggle }: { ev: AuditEvent; open: boolean; onToggle: () => void }) {
  const detailsId = `audit-event-${ev.id}`;
  const target = ev.targetKind ? `${ev.targetKind}${targetName(ev) ? ` ${targetName(ev)}` : ""}` : "";
  return (
    <tbody>
      <tr>
        <td>
          <time dateTime={ev.at}>{when(ev.at)}</time>
        </td>
        <td>
          {ev.actorName}
          <div className="admin-muted">
            {ev.actorKind} via {ev.via}
          </div>
        </td>
        <td>
          <code>{ev.action}</code>
        </td>
        <td>{target || <span className="admin-muted">none</span>}</td>
        <td>{ev.namespace ?? <span className="admin-muted">mesh</span>}</td>
        <td>
          <button
            type="button"
            className="secondary"
            aria-expanded={open}
            aria-controls={open ? detailsId : undefined}
            aria-label={`Details of event ${ev.id} (${ev.action})`}
            onClick={onToggle}
          >
            {open ? "Hide" : "Details"}
          </button>
        </td>
      </tr>
      {open && (
        <tr id={detailsId} className="admin-details">
          <td colSpan={6}>
            <dl>
              <dt>Event</dt>
              <dd>#{ev.id}</dd>
              <dt>Target id</dt>
              <dd>{ev.targetId ?? "none"}</dd>
              <dt>From</dt>
              <dd>
                {ev.ip ?? "unknown address"}
                {ev.userAgent ? `, ${ev.userAgent}` : ""}
              </dd>
              <dt>Details</dt>
              <dd>
                <pre className="admin-mono">{JSON.stringify(ev.details, null, 2)}</pre>
              </dd>
            </dl>
          </td>
        </tr>
      )}
    </tbody>
  );
}

/** A readable name for the target, when the event's details carry one. */
function targetName(ev: AuditEvent): string | null {
  const d = ev.details;
  for (const k of ["name", "user"]) {
    const v = d[k];
    if (typeof v === "string") return v;
  }
  return null;
}
