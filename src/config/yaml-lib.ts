/**
 * The `yaml` package, loaded on first need: a file the fast reader (yaml-fast.ts) takes
 * never needs it, and loading it is a good part of a short `mcp validate`.
 */
import { createRequire } from "node:module";

type YamlLib = typeof import("yaml");
const require = createRequire(import.meta.url);
let lib: YamlLib | undefined;

export function yamlLib(): YamlLib {
  return (lib ??= require("yaml") as YamlLib);
}
