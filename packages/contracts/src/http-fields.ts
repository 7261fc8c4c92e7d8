import { z } from "zod";

/**
 * HTTP header names and values as configuration may write them (RFC 9110 §5): the Route resource's header
 * matches and edits, and the proxy config compiled from them, both parse with these, so the console refuses
 * what the proxy would refuse. Before, a value with CR/LF passed as valid, and every request on its route
 * then failed as a 502 blamed on the upstream (Node refuses to send such a header).
 *
 * When to edit this file: when a header rule of the HTTP RFCs is found missing. Never loosen one for a
 * single field.
 */

/** A header name: an RFC 9110 token (`x-user-id`). Compared case-insensitively. */
export const ZHeaderName = z
  .string()
  .min(1, "must not be empty")
  .max(256, "must be at most 256 characters")
  .regex(
    /^[!#$%&'*+\-.^_`|~0-9A-Za-z]+$/,
    "must be a valid header name (letters, digits and !#$%&'*+-.^_`|~)",
  );

/**
 * A header value (RFC 9110 field-value): visible ASCII, obs-text (0x80–0xFF), and spaces or tabs between
 * them; no CR, LF, NUL or other control, no leading or trailing whitespace, nothing above 0xFF (Node sends
 * header values as Latin-1 and refuses anything else). May be empty.
 */
export const ZHeaderValue = z
  .string()
  .max(8_192, "must be at most 8192 characters")
  .superRefine((v, ctx) => {
    const bad = /[^\t\x20-\x7e\x80-\xff]/.exec(v);
    if (bad) {
      const cp = `U+${bad[0].codePointAt(0)!.toString(16).toUpperCase().padStart(4, "0")}`;
      ctx.addIssue({
        code: "custom",
        message: `must be a valid header value: no control characters such as CR or LF (${cp} at index ${bad.index})`,
      });
    } else if (/^[\t ]|[\t ]$/.test(v)) {
      ctx.addIssue({ code: "custom", message: "must not start or end with whitespace" });
    }
  });

/**
 * Headers that frame the message or belong to one connection (RFC 9110 §7.6.1, §8.6, RFC 9112 §6): the proxy
 * writes these itself, so a header edit may not set, add or remove them.
 */
export const FRAMING_HEADERS: ReadonlySet<string> = new Set([
  "connection",
  "content-length",
  "keep-alive",
  "proxy-connection",
  "te",
  "trailer",
  "transfer-encoding",
  "upgrade",
]);

/** A header name a header edit may touch: a valid name that is not a framing header. */
export const ZEditableHeaderName = ZHeaderName.refine(
  (n) => !FRAMING_HEADERS.has(n.toLowerCase()),
  "is set by the proxy itself (framing or connection header) and cannot be edited",
);
