// Reads a static config file (`trellis proxy --config FILE`): JSON or YAML, decided by the extension and, when
// that says nothing, by trying JSON first. Validation happens in startProxy/applyConfig, not here.
import { readFile } from "node:fs/promises";

/** yaml is loaded only when a YAML file is read: it costs ~9 MB of RSS a JSON-fed proxy should not carry. */
async function parseYaml(text: string): Promise<unknown> {
  const { parse } = await import("yaml");
  return parse(text) as unknown;
}

export async function loadConfigFile(path: string): Promise<unknown> {
  const text = await readFile(path, "utf8");
  if (/\.json$/i.test(path)) return JSON.parse(text) as unknown;
  if (/\.ya?ml$/i.test(path)) return parseYaml(text);
  try {
    return JSON.parse(text) as unknown;
  } catch {
    return parseYaml(text);
  }
}
