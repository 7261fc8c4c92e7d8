// Retries with conservative defaults (as undici's retry interceptor): idempotent methods only, a request body
// only when it is small enough to keep a copy of (replay-body.ts: up to `maxReplayBodyBytes`, copied while the
// first try streams it), exponential backoff with full jitter, and a budget so that retries cannot multiply
// load on a destination that is already failing.
import type { RetryPolicy } from "@trellis/contracts/proxy";
import { ProxyError } from "../core/errors.js";
import type { Layer, ProxyResponse } from "../core/types.js";
import { ReplayBody } from "./replay-body.js";

/** Shared per destination: what the budget is measured against. */
export interface RetryBudgetState {
  /** Requests in flight to the destination. */
  active: number;
  /** Retries in flight (or backing off) to the destination. */
  retriesActive: number;
  /** Retries made, for /stats. */
  retriesTotal: number;
  /** Retries refused by the budget, for /stats. */
  retriesOverflow: number;
}

const IDEMPOTENT = new Set(["GET", "HEAD", "OPTIONS", "PUT", "DELETE", "TRACE"]);

export function retry(conf: RetryPolicy | undefined, budget: RetryBudgetState): Layer {
  if (conf === undefined || conf.attempts === 0) return (next) => next;
  const on = new Set(conf.retryOn);
  const onConnect = on.has("connect-failure") || on.has("5xx") || on.has("gateway-error");
  const onReset = on.has("reset") || on.has("5xx") || on.has("gateway-error");
  const onTimeout = on.has("5xx") || on.has("gateway-error");
  const on5xx = on.has("5xx");
  const onGatewayStatus = on.has("gateway-error");
  const statuses = on.has("retriable-status-codes") ? new Set(conf.retriableStatusCodes) : new Set<number>();

  const retriableStatus = (s: number) =>
    (on5xx && s >= 500) || (onGatewayStatus && (s === 502 || s === 503 || s === 504)) || statuses.has(s);
  const retriableError = (e: unknown) => {
    if (!(e instanceof ProxyError)) return false;
    switch (e.code) {
      case "DP_UPSTREAM_CONNECT_FAILURE":
      case "DP_NO_HEALTHY_UPSTREAM":
        return onConnect;
      case "DP_UPSTREAM_RESET":
      case "DP_UPSTREAM_PROTOCOL":
        return onReset;
      case "DP_UPSTREAM_TIMEOUT":
        return onTimeout;
      default:
        return false;
    }
  };
  const budgetAllows = () => {
    const allowed = Math.max(conf.budgetMinConcurrent, (budget.active * conf.budgetPercent) / 100);
    if (budget.retriesActive < allowed) return true;
    budget.retriesOverflow++;
    return false;
  };
  const backoff = (n: number) => {
    const cap = Math.min(conf.backoffMaxMs, conf.backoffBaseMs * 2 ** n);
    return new Promise<void>((r) => setTimeout(r, Math.random() * cap));
  };

  return (next) => async (req, ctx) => {
    if (!conf.retryNonIdempotent && !IDEMPOTENT.has(req.method)) return next(req, ctx);
    let replay: ReplayBody | null = null;
    if (req.body !== null) {
      if (conf.maxReplayBodyBytes === 0 || req.body.readableEnded || req.body.destroyed)
        return next(req, ctx);
      replay = new ReplayBody(req.body, conf.maxReplayBodyBytes);
    }
    ctx.perTryTimeoutMs = conf.perTryTimeoutMs;
    for (let n = 0; ; n++) {
      const retrying = n > 0;
      if (replay !== null) req.body = replay.nextTry();
      let res: ProxyResponse;
      try {
        res = await next(req, ctx);
      } catch (err) {
        if (retrying) budget.retriesActive--;
        if (
          n >= conf.attempts ||
          !retriableError(err) ||
          (replay !== null && !replay.replayable()) ||
          performance.now() >= ctx.deadline ||
          !budgetAllows()
        ) {
          replay?.release(true);
          throw err;
        }
        budget.retriesActive++;
        budget.retriesTotal++;
        await backoff(n);
        continue;
      }
      if (retrying) budget.retriesActive--;
      if (
        n >= conf.attempts ||
        !retriableStatus(res.status) ||
        (replay !== null && !replay.replayable()) ||
        performance.now() >= ctx.deadline ||
        !budgetAllows()
      ) {
        replay?.release(false);
        return res;
      }
      res.body.dump();
      budget.retriesActive++;
      budget.retriesTotal++;
      await backoff(n);
    }
  };
}
