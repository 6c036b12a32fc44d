/** `macsensor config show`: the effective configuration and where each value came from. */
import { parseCommandLine } from "./args.js";
import type { SettingValue } from "../config/index.js";
import { MacsensorError } from "../errors.js";

const HELP = `Usage: macsensor config show [--json] [--config FILE] [--managed FILE]

Shows the effective configuration: defaults, overridden by the configuration file, overridden by MDM managed
preferences, and where each value came from (default / file:line:column / managed plist).

Options:
  --config FILE    the TOML configuration file (default: MACSENSOR_CONFIG, else
                   /Library/Application Support/macsensor/config.toml on macOS, /etc/macsensor/config.toml elsewhere)
  --managed FILE   the managed-preferences plist, XML or binary
                   (default on macOS: /Library/Managed Preferences/com.macsensor.agent.plist)
  --json           one JSON document: {"sources", "settings": {key: {value, source, location}}, "warnings"}
  -h, --help       show this help

Exit status: 0 valid, 1 invalid or refused configuration, 2 usage error.`;

function render(value: unknown): string {
  return JSON.stringify(value) ?? String(value);
}

export async function run(argv: string[]): Promise<number> {
  const parsed = parseCommandLine("config", HELP, argv, {
    json: { type: "boolean" },
    config: { type: "string" },
    managed: { type: "string" },
  });
  if (typeof parsed === "number") return parsed;
  const { values, positionals } = parsed;
  if (positionals.length !== 1 || positionals[0] !== "show") {
    process.stderr.write(`macsensor config: expected the subcommand 'show'\n\n${HELP}\n`);
    return 2;
  }

  const { loadConfig } = await import("../config/index.js");
  let loaded;
  try {
    loaded = loadConfig({
      ...(values.config !== undefined ? { configFile: values.config } : {}),
      ...(values.managed !== undefined ? { managedFile: values.managed } : {}),
    });
  } catch (e) {
    if (e instanceof MacsensorError) {
      process.stderr.write(`macsensor config: ${e.message}\n`);
      return 1;
    }
    throw e;
  }

  for (const w of loaded.warnings) process.stderr.write(`warning: ${w}\n`);
  if (values.json) {
    const doc = { sources: loaded.sources, settings: loaded.settings, warnings: loaded.warnings };
    process.stdout.write(JSON.stringify(doc) + "\n");
    return 0;
  }

  const out: string[] = [];
  for (const s of loaded.sources) {
    const label = s.kind === "file" ? "Configuration file: " : "Managed preferences:";
    out.push(`${label} ${s.path} (${s.found ? s.format : "not found"})`);
  }
  if (!loaded.sources.some((s) => s.kind === "managed")) out.push("Managed preferences: none on this platform");
  out.push("");
  // Sources are named in the header; a row says which one and, for the file, the line and column.
  const sourceLabel = (s: SettingValue): string => {
    if (s.source !== "file" || !s.location) return s.source;
    const at = /:(\d+):(\d+)$/.exec(s.location);
    return at ? `file ${at[1]}:${at[2]}` : "file";
  };
  const rows = Object.entries(loaded.settings).map(([key, s]) => [key, sourceLabel(s), render(s.value)]);
  const header = ["KEY", "SOURCE", "VALUE"];
  const widths = [0, 1].map((i) => Math.max(header[i].length, ...rows.map((r) => r[i].length)));
  for (const r of [header, ...rows]) out.push(`${r[0].padEnd(widths[0])}  ${r[1].padEnd(widths[1])}  ${r[2]}`);
  process.stdout.write(out.join("\n") + "\n");
  return 0;
}
