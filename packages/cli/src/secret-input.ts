// Reading secrets (passwords) without echoing them or putting them on the command line.
import { CliError } from "./errors.js";

/** All of standard input, minus one trailing newline (as `echo pw |` and here-strings add). */
export async function readStdinSecret(what: string): Promise<string> {
  if (process.stdin.isTTY) throw new CliError(`--password-stdin expects ${what} piped in, not a terminal`);
  const chunks: Buffer[] = [];
  for await (const c of process.stdin) chunks.push(c as Buffer);
  const s = Buffer.concat(chunks)
    .toString("utf8")
    .replace(/\r?\n$/, "");
  if (!s) throw new CliError(`--password-stdin: standard input was empty`);
  return s;
}

/** Asks on the terminal without echo. Ctrl-C aborts; the answer is never printed. */
export function promptHidden(question: string): Promise<string> {
  const stdin = process.stdin;
  if (!stdin.isTTY) throw new CliError("no terminal to ask for a password: use --password-stdin");
  process.stderr.write(question);
  return new Promise((resolve, reject) => {
    let value = "";
    const done = (err?: Error) => {
      stdin.setRawMode(false);
      stdin.pause();
      stdin.off("data", onData);
      process.stderr.write("\n");
      if (err) reject(err);
      else resolve(value);
    };
    const onData = (buf: Buffer) => {
      for (const ch of buf.toString("utf8")) {
        if (ch === "\r" || ch === "\n") return done();
        if (ch === "\u0003") return done(new CliError("cancelled", 130));
        if (ch === "\u007f" || ch === "\b") value = value.slice(0, -1);
        else if (ch >= " ") value += ch;
      }
    };
    stdin.setRawMode(true);
    stdin.resume();
    stdin.on("data", onData);
  });
}

/** A new password: from standard input with `--password-stdin`, else asked twice on the terminal. */
export async function newPassword(opts: { passwordStdin?: boolean }, forWhom: string): Promise<string> {
  if (opts.passwordStdin) return readStdinSecret("the password");
  const first = await promptHidden(`New password for ${forWhom} (12+ characters): `);
  const second = await promptHidden("Again: ");
  if (first !== second) throw new CliError("the two passwords differ; nothing was changed");
  return first;
}
