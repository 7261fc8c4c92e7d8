// Route timeout: a deadline for the response head, retries included. It is only recorded here; each try turns
// what is left of it into its own timer (upstream/dispatch.ts), so no extra timer runs per request.
import type { Layer } from "../core/types.js";

export function timeout(ms: number): Layer {
  if (ms <= 0) return (next) => next;
  return (next) => (req, ctx) => {
    const d = ctx.start + ms;
    if (d < ctx.deadline) ctx.deadline = d;
    return next(req, ctx);
  };
}
