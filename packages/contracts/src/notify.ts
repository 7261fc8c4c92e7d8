// The PostgreSQL NOTIFY channels between the console (services) and the control-plane replicas, and what each
// carries. Both sides import these: the channel names and payload shapes are spelled once.
//
// When to edit this file: a new channel, or a payload gains a field. A replica must still accept what an older
// console sends (and the other way round) while both run during an upgrade: add optional fields only.
import { z } from "zod";

export const NOTIFY_CHANNELS = {
  /** The console NOTIFYs this after committing a change (payload: ZConfigChangedPayload). */
  configChanged: "trellis_config_changed",
  /** Replicas NOTIFY this when a proxy joins or leaves, so every replica updates endpoints (payload: the replica id). */
  registryChanged: "trellis_registry_changed",
  /**
   * The services layer NOTIFYs this when a join token is revoked (payload: ZJoinTokenRevokedPayload), after it
   * marked the token's workloads gone and revoked their certificates: every replica closes the streams of the
   * proxies that joined with it, and pushes the new revocation list.
   */
  joinTokenRevoked: "trellis_join_token_revoked",
} as const;
export type NotifyChannel = (typeof NOTIFY_CHANNELS)[keyof typeof NOTIFY_CHANNELS];

/**
 * The generation the change created, recorded in its rollout. Absent (a bare `{}`, or no JSON at all) still
 * means "something changed": everything is read again, and no rollout is recorded.
 */
export const ZConfigChangedPayload = z.object({ generation: z.number().int().optional() });
export type ConfigChangedPayload = z.infer<typeof ZConfigChangedPayload>;

export const ZJoinTokenRevokedPayload = z.object({ joinTokenId: z.string() });
export type JoinTokenRevokedPayload = z.infer<typeof ZJoinTokenRevokedPayload>;

/** A payload as the sender writes it (pg_notify takes text). */
export function encodeNotifyPayload<T>(schema: z.ZodType<T>, payload: T): string {
  return JSON.stringify(schema.parse(payload));
}

/** A payload as the listener reads it: null when it is not JSON or not of the schema's shape. */
export function decodeNotifyPayload<T>(schema: z.ZodType<T>, payload: string | undefined): T | null {
  let json: unknown;
  try {
    json = JSON.parse(payload ?? "{}");
  } catch {
    return null;
  }
  const r = schema.safeParse(json);
  return r.success ? r.data : null;
}
