/**
 * Loads the effective configuration: defaults, then the TOML file, then MDM managed preferences (which win).
 * Every value remembers where it came from. Bad values are collected and raised together in one ConfigError
 * naming file:line:column (TOML) or the plist key path (managed); unknown keys are warnings.
 */
import { readFileSync } from "node:fs";
import { dirname, resolve } from "node:path";
import { parse as parseToml, TomlError } from "smol-toml";
import { MacsensorError, positionAt } from "../errors.js";
import type { RuleAction } from "../rules/ruleMetadata.js";
import { defaultConfigPath, defaultManagedPath, type Platform } from "./paths.js";
import { isBinaryPlist, isPlistDict, parsePlist, PlistError, type PlistValue } from "./plist/index.js";
import {
  checkAction,
  SETTING_BY_KEY,
  SETTING_TABLES,
  SETTINGS,
  toConfig,
  type CheckContext,
  type MacsensorConfig,
  type ValueSource,
} from "./schema.js";
import { closestName } from "../closestName.js";
import { isConfigurationProfile, PREFERENCE_DOMAIN, profileSettings } from "./managedProfile.js";
import { scanToml } from "../toml/tomlLayout.js";
import { checkTrustedPath, permissionsRelaxed } from "./trust.js";

export interface ConfigProblem {
  /** Dotted key (`alerts.max_files`, `rules.paths[1]`, `actions.<rule_id>`). */
  key: string;
  /** `file:line:column` for TOML (when the key was found), the plist path for managed preferences. */
  location: string;
  message: string;
}

/** One or more bad values; the message lists every one with its location. */
export class ConfigError extends MacsensorError {
  override name = "ConfigError";
  readonly problems: ConfigProblem[];

  constructor(problems: ConfigProblem[], headline?: string) {
    const lines = problems.map((p) => `  ${p.location}: ${p.key ? `${p.key}: ` : ""}${p.message}`);
    super(`${headline ?? `invalid configuration (${problems.length} problem${problems.length === 1 ? "" : "s"})`}:\n${lines.join("\n")}`);
    this.problems = problems;
  }
}

export interface SettingValue {
  value: unknown;
  source: ValueSource;
  /** Where it was set (absent for defaults). */
  location?: string;
}

export interface ConfigSourceInfo {
  kind: "file" | "managed";
  path: string;
  found: boolean;
  format?: "toml" | "xml plist" | "binary plist";
}

export interface LoadedConfig {
  config: MacsensorConfig;
  /** Every key (and each `actions.<rule_id>`) with its value and where it came from, in documentation order. */
  settings: Record<string, SettingValue>;
  sources: ConfigSourceInfo[];
  /** Unknown keys, relaxed permission problems. */
  warnings: string[];
}

export interface LoadConfigOptions {
  /** The TOML file; default `MACSENSOR_CONFIG` or the platform path. Naming it makes a missing file an error. */
  configFile?: string;
  /** The managed-preferences plist; default the platform path (none on Linux); null for none. */
  managedFile?: string | null;
  platform?: Platform;
  env?: NodeJS.ProcessEnv;
  /** Accept files a non-root user could change (development); MACSENSOR_DEV=1 does the same. */
  relaxPermissions?: boolean;
}

interface Entry {
  key: string;
  value: unknown;
  location: string;
}

interface SourceContext extends CheckContext {
  kind: "file" | "managed";
  file: string;
  locate(key: string): string;
}

type Tree = Record<string, unknown>;

function isTable(v: unknown): v is Tree {
  return typeof v === "object" && v !== null && !Array.isArray(v) && !(v instanceof Date) && !(v instanceof Uint8Array);
}

function suggestion(key: string): string {
  const known = [...SETTINGS.map((s) => s.key), ...SETTING_TABLES, "actions"];
  const best = known.find((k) => k.startsWith(key)) ?? closestName(key, known);
  return best !== undefined ? ` (did you mean ${best}?)` : "";
}

/** Walks one source's tree into checked entries, problems and unknown-key warnings. */
function collect(tree: Tree, ctx: SourceContext, entries: Entry[], problems: ConfigProblem[], warnings: string[]): void {
  const problem = (key: string, message: string): void => {
    const element = /^\[(\d+)\]: ([\s\S]*)$/.exec(message);
    const where = element ? `${key}[${element[1]}]` : key;
    problems.push({ key: where, location: ctx.locate(where), message: element ? element[2] : message });
  };
  const walk = (node: Tree, prefix: string): void => {
    for (const name of Object.keys(node)) {
      const key = prefix ? `${prefix}.${name}` : name;
      const value = node[name];
      // Profiles sometimes carry their payload bookkeeping into the preferences; it is not configuration.
      if (!prefix && ctx.kind === "managed" && /^Payload[A-Z]/.test(name)) continue;
      const setting = SETTING_BY_KEY.get(key);
      if (key === "actions") {
        if (!isTable(value)) {
          problem(key, 'expected a table of rule_id = "report" | "block" | "kill"');
          continue;
        }
        for (const ruleId of Object.keys(value)) {
          const entryKey = `actions.${ruleId}`;
          if (ruleId.trim() === "") {
            problem(entryKey, "empty rule_id");
            continue;
          }
          const checked = checkAction(value[ruleId]);
          if (checked.ok) entries.push({ key: entryKey, value: checked.value, location: ctx.locate(entryKey) });
          else problem(entryKey, checked.error);
        }
      } else if (setting) {
        const checked = setting.check(value, ctx);
        if (checked.ok) entries.push({ key, value: checked.value, location: ctx.locate(key) });
        else problem(key, checked.error);
      } else if (SETTING_TABLES.has(key)) {
        if (isTable(value)) walk(value, key);
        else problem(key, `expected a table (${key}.…), got a value`);
      } else {
        warnings.push(`${ctx.locate(key)}: unknown key ${key}${suggestion(key)}; ignored`);
      }
    }
  };
  walk(tree, "");
}

function tomlContext(file: string, text: string, offsets: ReadonlyMap<string, number>): SourceContext {
  return {
    kind: "file",
    file,
    baseDir: dirname(resolve(file)),
    locate(key) {
      const offset = offsets.get(key) ?? offsets.get(key.replace(/\[\d+\]$/, ""));
      if (offset === undefined) return file;
      const { line, column } = positionAt(text, offset);
      return `${file}:${line}:${column}`;
    },
  };
}

function managedContext(file: string): SourceContext {
  return { kind: "managed", file, locate: () => file };
}

function readSource(file: string, required: boolean, kind: "file" | "managed"): Buffer | undefined {
  try {
    return readFileSync(file);
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    if (code === "ENOENT" && !required) return undefined;
    const why = code === "ENOENT" ? "no such file" : code === "EACCES" ? "permission denied" : String((e as Error).message);
    throw new ConfigError([{ key: "", location: file, message: `cannot read the ${kind === "file" ? "configuration file" : "managed preferences"}: ${why}` }]);
  }
}

export function loadConfig(options: LoadConfigOptions = {}): LoadedConfig {
  const platform = options.platform ?? process.platform;
  const env = options.env ?? process.env;
  const relax = permissionsRelaxed({ relax: options.relaxPermissions, env });
  const configFile = options.configFile ?? (env.MACSENSOR_CONFIG || defaultConfigPath(platform));
  const configRequired = options.configFile !== undefined || Boolean(env.MACSENSOR_CONFIG);
  const managedFile = options.managedFile === undefined ? defaultManagedPath(platform) : (options.managedFile ?? undefined);

  const warnings: string[] = [];
  const problems: ConfigProblem[] = [];
  const sources: ConfigSourceInfo[] = [];
  const fileEntries: Entry[] = [];
  const managedEntries: Entry[] = [];

  const trust = (path: string): void => {
    warnings.push(...checkTrustedPath(path, { relax, env }));
  };

  const tomlBytes = readSource(configFile, configRequired, "file");
  sources.push({ kind: "file", path: configFile, found: tomlBytes !== undefined, ...(tomlBytes ? { format: "toml" as const } : {}) });
  if (tomlBytes) {
    trust(configFile);
    const text = tomlBytes.toString("utf8");
    let tree: Tree;
    try {
      tree = parseToml(text) as Tree;
    } catch (e) {
      if (e instanceof TomlError) {
        const reason = e.message.replace(/^Invalid TOML document: /, "").split("\n")[0];
        throw new ConfigError(
          [{ key: "", location: `${configFile}:${e.line}:${e.column}`, message: `${reason}\n${e.codeblock}` }],
          "invalid TOML in the configuration file",
        );
      }
      throw e;
    }
    collect(tree, tomlContext(configFile, text, scanToml(text).offsets), fileEntries, problems, warnings);
  }

  if (managedFile !== undefined) {
    const bytes = readSource(managedFile, options.managedFile !== undefined, "managed");
    sources.push({
      kind: "managed",
      path: managedFile,
      found: bytes !== undefined,
      ...(bytes ? { format: isBinaryPlist(bytes) ? ("binary plist" as const) : ("xml plist" as const) } : {}),
    });
    if (bytes) {
      trust(managedFile);
      let root: PlistValue;
      try {
        root = parsePlist(bytes, managedFile);
      } catch (e) {
        if (e instanceof PlistError) throw new ConfigError([{ key: "", location: managedFile, message: e.message }], "unreadable managed preferences");
        throw e;
      }
      if (isConfigurationProfile(root)) {
        const { settings, from } = profileSettings(root);
        warnings.push(
          settings
            ? `${managedFile}: a configuration profile, not managed preferences; read the settings it installs for ${PREFERENCE_DOMAIN} (${from.join(", ")}). ` +
                `On a Mac the agent reads ${defaultManagedPath("darwin") ?? "the managed-preferences plist"}, which macOS writes when MDM installs the profile`
            : `${managedFile}: a configuration profile with no settings for ${PREFERENCE_DOMAIN} (no com.apple.ManagedClient.preferences payload for it): nothing managed`,
        );
        root = settings ?? {};
      }
      if (!isPlistDict(root)) {
        problems.push({ key: "", location: managedFile, message: "the managed preferences must be a dictionary at the top" });
      } else {
        collect(root, managedContext(managedFile), managedEntries, problems, warnings);
      }
    }
  }

  if (problems.length > 0) throw new ConfigError(problems);

  const settings: Record<string, SettingValue> = {};
  const flat = new Map<string, unknown>();
  for (const s of SETTINGS) {
    flat.set(s.key, s.defaultValue(platform));
    settings[s.key] = { value: s.defaultValue(platform), source: "default" };
  }
  const actions: Record<string, RuleAction> = {};
  const apply = (entries: Entry[], source: ValueSource): void => {
    for (const e of entries) {
      if (e.key.startsWith("actions.")) actions[e.key.slice("actions.".length)] = e.value as RuleAction;
      else flat.set(e.key, e.value);
      settings[e.key] = { value: e.value, source, location: e.location };
    }
  };
  apply(fileEntries, "file");
  apply(managedEntries, "managed");
  return { config: toConfig(flat, actions), settings, sources, warnings };
}
