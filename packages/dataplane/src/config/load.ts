// Reads a static config file (`trellis proxy --config FILE`): JSON or YAML, decided by the extension and, when
// that says nothing, by trying JSON first. Validation happens in startProxy/applyConfig, not here.
import { readFile } from "node:fs/promises";
import { parse as parseYaml } from "yaml";

export async function loadConfigFile(path: string): Promise<unknown> {
  const text = await readFile(path, "utf8");
  if (/\.json$/i.test(path)) return JSON.parse(text) as unknown;
  if (/\.ya?ml$/i.test(path)) return parseYaml(text) as unknown;
  try {
    return JSON.parse(text) as unknown;
  } catch {
    return parseYaml(text) as unknown;
  }
}
