// What the CLI prints for people passes through here. Titles, names, comments, reasons and error details come
// from the server, and a string from the server must not steer the terminal: a title holding `\r`, `\n` or
// `\x1b[2K` could overwrite or invent rows of `trellis get changes`. Every such value is shown with its
// control characters written out (`\r`, `\x1b`), by printTable for cells and by the `t` tag for lines.
// JSON and YAML output needs none of this: both escape control characters themselves.
//
// When to edit this file: when another kind of character turns out to move the cursor or hide text.

/**
 * C0 controls, DEL, C1 controls (U+009B is a one-character CSI), and the Unicode bidi overrides and
 * isolates, which reorder what follows them on the line.
 */
// Matching control characters is the point.
// eslint-disable-next-line no-control-regex
const UNSAFE = /[\u0000-\u001f\u007f-\u009f\u061c\u200e\u200f\u202a-\u202e\u2066-\u2069]/g;

const NAMED: Record<string, string> = { "\n": "\\n", "\r": "\\r", "\t": "\\t" };

function escape(ch: string): string {
  const named = NAMED[ch];
  if (named) return named;
  const code = ch.charCodeAt(0);
  return code <= 0xff
    ? `\\x${code.toString(16).padStart(2, "0")}`
    : `\\u${code.toString(16).padStart(4, "0")}`;
}

/** A server-supplied string made safe to print: every control character written out, nothing removed. */
export function safe(value: unknown): string {
  return String(value).replace(UNSAFE, escape);
}

/**
 * A line for people: the template's own text as written, every interpolated value through `safe`.
 * `` t`#${c.number} ${c.title}` ``
 */
export function t(strings: TemplateStringsArray, ...values: unknown[]): string {
  let out = strings[0]!;
  for (let i = 0; i < values.length; i++) out += safe(values[i]) + strings[i + 1]!;
  return out;
}
