import { fileURLToPath } from "node:url";

/** The `rules/` folder shipped with the package (both `src/rules/` and `dist/rules/` sit two levels below it). */
export function shippedRulesPath(): string {
  return fileURLToPath(new URL("../../rules/", import.meta.url));
}
