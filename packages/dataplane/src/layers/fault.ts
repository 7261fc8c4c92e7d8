// Fault injection: delay or abort a share of requests. Sits outermost on a route, as Envoy's fault filter does,
// so an aborted request costs nothing further down.
import type { Fault } from "@trellis/contracts/proxy";
import { ProxyError } from "../core/errors.js";
import type { Layer } from "../core/types.js";

export function fault(conf: Fault | undefined): Layer {
  if (conf === undefined || (conf.delay === undefined && conf.abort === undefined)) return (next) => next;
  const delay = conf.delay && conf.delay.percent > 0 ? conf.delay : null;
  const abort = conf.abort && conf.abort.percent > 0 ? conf.abort : null;
  return (next) => async (req, ctx) => {
    if (delay !== null && Math.random() * 100 < delay.percent)
      await new Promise((r) => setTimeout(r, delay.ms));
    if (abort !== null && Math.random() * 100 < abort.percent) {
      throw new ProxyError("DP_FAULT_ABORT", "fault injected by route policy", { status: abort.status });
    }
    return next(req, ctx);
  };
}
