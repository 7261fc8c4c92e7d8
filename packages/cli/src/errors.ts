/** An error meant for the person at the terminal: printed as one line, exit code 1, no stack trace. */
export class CliError extends Error {
  constructor(
    message: string,
    readonly exitCode = 1,
  ) {
    super(message);
    this.name = "CliError";
  }
}

/** Errors whose message is written for people (ours, and the db package's connection errors). */
export function isUserFacing(e: unknown): e is Error {
  return (
    e instanceof Error &&
    (e instanceof CliError ||
      ["DatabaseConnectError", "AppError", "MeshJoinError", "ProxyStartError", "CaError"].includes(e.name))
  );
}
