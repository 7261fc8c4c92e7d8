// Sign-out must end the session on the server even when the database write fails: next-auth clears the
// browser's cookie whatever happens, but a copy of the cookie stays good for as long as the session's row does.
//
// When to edit this file: when sessions gain another place they live in, or sign-out another step.
//
// A failed write is tried again at once (one retry); if that fails too, the session id is held here as ending:
// the jwt callback refuses it from then on (`isEnding`) and tries to end it again on each such request, and a
// timer tries with backoff, until the row is gone. This process's memory is the fallback store, as the
// database is the one that just failed: another console replica refuses that cookie only once a write
// succeeds (while the database is down it serves no session at all, as it cannot read one).
import "server-only";
import { endConsoleSession } from "@trellis/services";
import { db } from "./db";

type Meta = Parameters<typeof endConsoleSession>[2];

/** Session ids whose sign-out has not reached the database yet, with what the retry needs. */
const ending = new Map<string, { meta: Meta; attempts: number; timer: NodeJS.Timeout | null }>();

/** Backoff of the background retries: 1 s doubling to at most a minute. */
const RETRY_BASE_MS = 1_000;
const RETRY_MAX_MS = 60_000;

/** Ends the session `sid` on the server: the retry once, then the fallback above. Never throws. */
export async function endSessionAtSignOut(sid: unknown, meta: Meta): Promise<void> {
  if (typeof sid !== "string" || sid === "") return;
  for (let attempt = 1; attempt <= 2; attempt++) {
    try {
      await endConsoleSession(db(), sid, meta);
      return;
    } catch (e) {
      if (attempt === 2) {
        console.error(
          `[trellis] sign-out could not end its session in the database (${(e as Error).message}); this console refuses the session and keeps trying`,
        );
        hold(sid, meta);
      }
    }
  }
}

/**
 * Whether `sid` was signed out but its row could not be ended yet: the caller refuses the session. Tries to
 * end the row again meanwhile (the next contact that may find the database back).
 */
export async function isEnding(sid: unknown): Promise<boolean> {
  if (typeof sid !== "string") return false;
  const held = ending.get(sid);
  if (!held) return false;
  await retry(sid);
  return true;
}

function hold(sid: string, meta: Meta): void {
  if (ending.has(sid)) return;
  ending.set(sid, { meta, attempts: 0, timer: null });
  schedule(sid);
}

function schedule(sid: string): void {
  const held = ending.get(sid);
  if (!held || held.timer) return;
  const delay = Math.min(RETRY_MAX_MS, RETRY_BASE_MS * 2 ** Math.min(held.attempts, 6));
  held.timer = setTimeout(() => {
    held.timer = null;
    void retry(sid);
  }, delay);
  held.timer.unref();
}

async function retry(sid: string): Promise<void> {
  const held = ending.get(sid);
  if (!held) return;
  held.attempts++;
  try {
    await endConsoleSession(db(), sid, held.meta);
    if (held.timer) clearTimeout(held.timer);
    ending.delete(sid);
  } catch {
    schedule(sid);
  }
}
