// Header edits on the way up (request) and down (response). Names are lower-cased once, here.
import type { HeaderEdits } from "@trellis/contracts/proxy";
import { removeHeader } from "../core/headers.js";
import type { Layer } from "../core/types.js";

interface CompiledEdits {
  remove: string[];
  set: [string, string][];
  add: [string, string][];
}

function compile(e: HeaderEdits | undefined): CompiledEdits | null {
  if (e === undefined) return null;
  const c: CompiledEdits = {
    remove: e.remove.map((n) => n.toLowerCase()),
    set: Object.entries(e.set).map(([k, v]) => [k.toLowerCase(), v]),
    add: Object.entries(e.add).map(([k, v]) => [k.toLowerCase(), v]),
  };
  return c.remove.length + c.set.length + c.add.length === 0 ? null : c;
}

export function applyEdits(list: string[], c: CompiledEdits): void {
  for (const n of c.remove) removeHeader(list, n);
  for (const [n, v] of c.set) {
    removeHeader(list, n);
    list.push(n, v);
  }
  for (const [n, v] of c.add) list.push(n, v);
}

export function headerRewrite(request: HeaderEdits | undefined, response: HeaderEdits | undefined): Layer {
  const rq = compile(request);
  const rs = compile(response);
  if (rq === null && rs === null) return (next) => next;
  return (next) => async (req, ctx) => {
    if (rq !== null) applyEdits(req.headers, rq);
    const res = await next(req, ctx);
    if (rs !== null) applyEdits(res.headers, rs);
    return res;
  };
}
