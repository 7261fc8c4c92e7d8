import { z } from "zod";

/**
 * Text people type into Trellis and other people read back: titles, descriptions, comments, token names,
 * display names. Every such field uses one of these two schemas, so the rule is the same for the API, the
 * console's forms and the CLI.
 *
 * No control characters (C0, DEL, C1): PostgreSQL cannot store NUL (it failed as a 500), and CR, ESC and the
 * like rewrite what a terminal or a log shows (a title could forge a row of `trellis get changes`). Multi-line
 * text keeps tabs and line feeds. No unpaired UTF-16 surrogates either: they have no UTF-8 form to store.
 *
 * When to edit this file: never to loosen a rule for one field; add a field by using these.
 */

// Matching control characters is the point of these two.
// eslint-disable-next-line no-control-regex
const SINGLE_LINE_FORBIDDEN = /[\u0000-\u001f\u007f-\u009f]/;
// eslint-disable-next-line no-control-regex
const MULTI_LINE_FORBIDDEN = /[\u0000-\u0008\u000b-\u001f\u007f-\u009f]/;
const LONE_SURROGATE = /[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/;

function codePoint(ch: string): string {
  return `U+${ch.codePointAt(0)!.toString(16).toUpperCase().padStart(4, "0")}`;
}

function textChecks(forbidden: RegExp, what: string) {
  return (s: string, ctx: z.RefinementCtx) => {
    const bad = forbidden.exec(s);
    if (bad)
      ctx.addIssue({
        code: "custom",
        message: `must not contain control characters ${what}(${codePoint(bad[0])} at index ${bad.index})`,
      });
    const lone = LONE_SURROGATE.exec(s);
    if (lone)
      ctx.addIssue({
        code: "custom",
        message: `must be valid Unicode (lone surrogate at index ${lone.index})`,
      });
  };
}

/** One line of text, trimmed: a title, a name shown in lists. */
export function zSingleLine(bounds: { min?: number; max: number }) {
  return z
    .string()
    .trim()
    .min(
      bounds.min ?? 0,
      bounds.min === 1 ? "must not be empty" : `must be at least ${bounds.min} characters`,
    )
    .max(bounds.max, `must be at most ${bounds.max} characters`)
    .superRefine(textChecks(SINGLE_LINE_FORBIDDEN, ""));
}

/** Text that may span lines (descriptions, comments): tabs and line feeds allowed, no other controls. */
export function zText(bounds: { max: number }) {
  return z
    .string()
    .max(bounds.max, `must be at most ${bounds.max} characters`)
    .superRefine(textChecks(MULTI_LINE_FORBIDDEN, "other than tab and line feed "));
}
