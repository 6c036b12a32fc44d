/**
 * The configuration keys, their defaults and their validation. Keys are the dotted TOML names an admin writes
 * (`alerts.max_bytes`); managed preferences use the same names as nested dictionaries.
 */
import { isAbsolute } from "node:path";
import type { RuleAction } from "../rules/ruleMetadata.js";
import { DEFAULT_TTY_MESSAGE } from "../response/ttyNotice.js";
import { defaultAlertsPath, defaultOpsLogPath, defaultRulesPath, type Platform } from "./paths.js";

export type FailMode = "open" | "closed";
export type BackendName = "auto" | "es" | "eslogger" | "linux";
export type BlockFallback = "kill" | "report";

/**
 * Rule evaluation normally takes microseconds per event; 20 ms is far above that and above ordinary GC and
 * scheduling noise, yet events are evaluated one at a time, so a few such events in a row already eat much of
 * the headroom before an AUTH exec's deadline (the watchdog answers at 80% of it, with as little as 1 s left).
 */
export const DEFAULT_EVENT_BUDGET_MS = 20;

export const RULE_ACTIONS: readonly RuleAction[] = ["report", "block", "kill"];

/** The effective configuration the agent runs with. */
export interface MacsensorConfig {
  rules: { paths: string[]; eventBudgetMs: number };
  /** Action per rule_id; rules not listed report. */
  actions: Record<string, RuleAction>;
  auth: { failMode: FailMode; guardPaths: string[]; deadlineMarginMs: number; minRuleMs: number };
  mute: { executables: string[] };
  capture: { envVars: string[] };
  alerts: { path: string; maxBytes: number; maxFiles: number; spoolMaxBytes: number; spoolMaxAlerts: number };
  log: { path: string };
  heartbeat: { intervalSeconds: number };
  /** Estimated bytes of pending sequence state, all sequence rules together. */
  sequences: { maxPendingBytes: number };
  backend: BackendName;
  eslogger: { blockFallback: BlockFallback };
  development: { relaxPermissions: boolean };
  /** The line on a stopped program's terminal; "" for none. */
  notify: { ttyMessage: string };
}

/** Where a key's value came from, for `config show` and messages. */
export type ValueSource = "default" | "file" | "managed";

/** What a validator makes of a raw value: the value, or why it is wrong (said to an admin). */
export type Checked = { ok: true; value: unknown } | { ok: false; error: string };

export interface CheckContext {
  /** The folder relative paths in this source are resolved against; undefined where only absolute paths do. */
  baseDir?: string;
}

export interface Setting {
  key: string;
  /** One line for `config show --help` and docs/deployment.md. */
  doc: string;
  defaultValue(platform: Platform): unknown;
  check(raw: unknown, ctx: CheckContext): Checked;
}

const ok = (value: unknown): Checked => ({ ok: true, value });
const bad = (error: string): Checked => ({ ok: false, error });

/** How a value reads in an error message. */
export function describeValue(v: unknown): string {
  if (typeof v === "string") return JSON.stringify(v);
  if (typeof v === "bigint") return `${v}`;
  if (Array.isArray(v)) return "an array";
  if (v instanceof Date) return "a date";
  if (v instanceof Uint8Array) return "data";
  if (v !== null && typeof v === "object") return "a table";
  return String(v);
}

function oneOf<T extends string>(choices: readonly T[]) {
  return (raw: unknown): Checked =>
    typeof raw === "string" && (choices as readonly string[]).includes(raw)
      ? ok(raw)
      : bad(`expected one of ${choices.map((c) => `"${c}"`).join(", ")}, got ${describeValue(raw)}`);
}

function integerIn(min: number, max: number, unit = "") {
  return (raw: unknown): Checked => {
    const n = typeof raw === "bigint" ? Number(raw) : raw;
    if (typeof n !== "number" || !Number.isInteger(n)) return bad(`expected a whole number, got ${describeValue(raw)}`);
    if (n < min || n > max) return bad(`expected ${min}${unit}..${max}${unit}, got ${n}`);
    return ok(n);
  };
}

const SIZE_UNITS: Record<string, number> = {
  "": 1, b: 1, k: 1e3, kb: 1e3, kib: 1024, m: 1e6, mb: 1e6, mib: 1024 ** 2, g: 1e9, gb: 1e9, gib: 1024 ** 3,
};

/** A byte count: an integer, or a string such as "50 MB" / "64MiB". */
function byteSize(min: number, max: number) {
  const inRange = integerIn(min, max, " bytes");
  return (raw: unknown): Checked => {
    if (typeof raw !== "string") return inRange(raw);
    const m = /^\s*(\d+(?:\.\d+)?)\s*([A-Za-z]*)\s*$/.exec(raw);
    const unit = m ? SIZE_UNITS[m[2].toLowerCase()] : undefined;
    if (!m || unit === undefined) return bad(`expected a size such as 52428800 or "50 MB", got ${describeValue(raw)}`);
    return inRange(Math.round(Number(m[1]) * unit));
  };
}

function path(mustBeAbsolute: boolean) {
  return (raw: unknown, ctx: CheckContext): Checked => {
    if (typeof raw !== "string" || raw.length === 0) return bad(`expected a path, got ${describeValue(raw)}`);
    if (raw.includes("\0")) return bad("a path cannot contain NUL");
    if (isAbsolute(raw)) return ok(raw);
    if (mustBeAbsolute || ctx.baseDir === undefined) return bad(`expected an absolute path, got ${describeValue(raw)}`);
    return ok(`${ctx.baseDir.replace(/\/+$/, "")}/${raw.replace(/^\.\//, "")}`);
  };
}

function listOf(item: (raw: unknown, ctx: CheckContext) => Checked, what: string) {
  return (raw: unknown, ctx: CheckContext): Checked => {
    if (!Array.isArray(raw)) return bad(`expected an array of ${what}, got ${describeValue(raw)}`);
    const out: unknown[] = [];
    for (let i = 0; i < raw.length; i++) {
      const r = item(raw[i], ctx);
      if (!r.ok) return bad(`[${i}]: ${r.error}`);
      out.push(r.value);
    }
    return ok(out);
  };
}

function boolean(raw: unknown): Checked {
  return typeof raw === "boolean" ? ok(raw) : bad(`expected true or false, got ${describeValue(raw)}`);
}

function envVarName(raw: unknown): Checked {
  return typeof raw === "string" && /^[A-Za-z_][A-Za-z0-9_]*$/.test(raw)
    ? ok(raw)
    : bad(`expected an environment variable name such as "DYLD_INSERT_LIBRARIES", got ${describeValue(raw)}`);
}

export const SETTINGS: readonly Setting[] = [
  {
    key: "rules.paths",
    doc: "rule files or folders (searched recursively for *.toml); relative paths are relative to config.toml",
    defaultValue: (p) => [defaultRulesPath(p)],
    check: listOf(path(false), "paths"),
  },
  {
    key: "rules.event_budget_ms",
    doc: "milliseconds the rules may take on one event; an event over it is still evaluated, but counted (evalOverruns) and its slowest rule logged",
    defaultValue: () => DEFAULT_EVENT_BUDGET_MS,
    check: integerIn(1, 10_000, " ms"),
  },
  {
    key: "auth.fail_mode",
    doc: '"open" allows an exec when no verdict is ready before the Endpoint Security deadline, "closed" denies it',
    defaultValue: () => "open",
    check: oneOf<FailMode>(["open", "closed"]),
  },
  {
    key: "auth.deadline_margin_ms",
    doc: "Endpoint Security: the least time (ms) kept in hand before an AUTH deadline; the rules get the time left minus 20% of it, or minus this when that is more (at most 5 s)",
    defaultValue: () => 10,
    check: integerIn(1, 1000, " ms"),
  },
  {
    key: "auth.min_rule_ms",
    doc: "Endpoint Security: an exec (or open) whose deadline leaves the rules less than this (ms) is allowed at once, even with fail_mode \"closed\", and counted (shortDeadlineAllows)",
    defaultValue: () => 5,
    check: integerIn(0, 1000, " ms"),
  },
  {
    key: "auth.guard_paths",
    doc: "Linux: files, or folders guarding their children, whose opens also wait for the verdict of file block rules (fanotify FAN_OPEN_PERM), besides the paths the block rules name themselves",
    defaultValue: () => [],
    check: listOf(path(true), "absolute paths"),
  },
  {
    key: "mute.executables",
    doc: "absolute paths of executables whose execs are not reported (muted at the source)",
    defaultValue: () => [],
    check: listOf(path(true), "absolute paths"),
  },
  {
    key: "capture.env_vars",
    doc: "environment variables copied from each exec into the event (process.env_vars)",
    defaultValue: () => ["DYLD_INSERT_LIBRARIES", "DYLD_LIBRARY_PATH", "DYLD_FRAMEWORK_PATH", "LD_PRELOAD"],
    check: listOf(envVarName, "environment variable names"),
  },
  {
    key: "alerts.path",
    doc: "the NDJSON alert log; rotated files sit beside it",
    defaultValue: (p) => defaultAlertsPath(p),
    check: path(false),
  },
  {
    key: "alerts.max_bytes",
    doc: 'size at which the alert log rotates (bytes, or a string such as "50 MB")',
    defaultValue: () => 50 * 1024 * 1024,
    check: byteSize(64 * 1024, 2 ** 40),
  },
  {
    key: "alerts.max_files",
    doc: "how many alert log files are kept, the current one included",
    defaultValue: () => 10,
    check: integerIn(1, 1000),
  },
  {
    key: "alerts.spool_max_bytes",
    doc: "memory for alerts waiting while the alert log cannot be written (disk full); beyond it the oldest are lost",
    defaultValue: () => 8 * 1024 * 1024,
    check: byteSize(64 * 1024, 2 ** 30),
  },
  {
    key: "alerts.spool_max_alerts",
    doc: "how many alerts may wait in memory while the alert log cannot be written; beyond it the oldest are lost",
    defaultValue: () => 10_000,
    check: integerIn(1, 1_000_000),
  },
  {
    key: "log.path",
    doc: "the agent's own NDJSON log (start, rules loaded, heartbeats, errors)",
    defaultValue: (p) => defaultOpsLogPath(p),
    check: path(false),
  },
  {
    key: "heartbeat.interval_seconds",
    doc: "seconds between heartbeat records (counts) in the agent's log",
    defaultValue: () => 60,
    check: integerIn(1, 86400, " s"),
  },
  {
    key: "sequences.max_pending_bytes",
    doc: 'memory for pending sequence state (estimated), shared equally by the sequence rules; over it the oldest is dropped and counted (bytes, or "32 MB")',
    defaultValue: () => 32 * 1024 * 1024,
    check: byteSize(1024 * 1024, 2 ** 36),
  },
  {
    key: "backend",
    doc: '"auto" (Endpoint Security on macOS, else eslogger; process connector on Linux), "es", "eslogger", "linux"',
    defaultValue: () => "auto",
    check: oneOf<BackendName>(["auto", "es", "eslogger", "linux"]),
  },
  {
    key: "eslogger.block_fallback",
    doc: 'what a "block" rule does under eslogger, which cannot deny: "kill" the process just started, or "report"',
    defaultValue: () => "kill",
    check: oneOf<BlockFallback>(["kill", "report"]),
  },
  {
    key: "notify.tty_message",
    doc: 'the line a blocked or killed program\'s terminal shows; {action}, {what}, {rule} are filled in; "" shows nothing',
    defaultValue: () => DEFAULT_TTY_MESSAGE,
    check: (raw: unknown): Checked =>
      typeof raw === "string" && raw.length <= 1000 && !/[\u0000-\u001f\u007f]/.test(raw)
        ? ok(raw)
        : bad(`expected one line of text (at most 1000 characters, no control characters), got ${describeValue(raw)}`),
  },
  {
    key: "development.relax_permissions",
    doc: "accept rule and config files a non-root user could change (development only; also MACSENSOR_DEV=1)",
    defaultValue: () => false,
    check: boolean,
  },
];

/** `actions` is a table keyed by rule_id; each entry is checked with this. */
export const ACTION_ENTRY_DOC = 'action per rule_id: "report" (default), "block" (deny the exec) or "kill"';
export const checkAction = oneOf<RuleAction>(RULE_ACTIONS);

export const SETTING_BY_KEY: ReadonlyMap<string, Setting> = new Map(SETTINGS.map((s) => [s.key, s]));

/** Tables that hold settings (`rules`, `alerts`, ...), so that walking a source knows where to descend. */
export const SETTING_TABLES: ReadonlySet<string> = new Set(
  SETTINGS.flatMap((s) => {
    const parts = s.key.split(".");
    return parts.slice(0, -1).map((_, i) => parts.slice(0, i + 1).join("."));
  }),
);

/** Builds the typed configuration from the flat key → value map (every key present). */
export function toConfig(flat: ReadonlyMap<string, unknown>, actions: Record<string, RuleAction>): MacsensorConfig {
  const get = <T>(key: string): T => flat.get(key) as T;
  return {
    rules: { paths: get("rules.paths"), eventBudgetMs: get("rules.event_budget_ms") },
    actions,
    auth: {
      failMode: get("auth.fail_mode"),
      guardPaths: get("auth.guard_paths"),
      deadlineMarginMs: get("auth.deadline_margin_ms"),
      minRuleMs: get("auth.min_rule_ms"),
    },
    mute: { executables: get("mute.executables") },
    capture: { envVars: get("capture.env_vars") },
    alerts: {
      path: get("alerts.path"),
      maxBytes: get("alerts.max_bytes"),
      maxFiles: get("alerts.max_files"),
      spoolMaxBytes: get("alerts.spool_max_bytes"),
      spoolMaxAlerts: get("alerts.spool_max_alerts"),
    },
    log: { path: get("log.path") },
    heartbeat: { intervalSeconds: get("heartbeat.interval_seconds") },
    sequences: { maxPendingBytes: get("sequences.max_pending_bytes") },
    backend: get("backend"),
    eslogger: { blockFallback: get("eslogger.block_fallback") },
    development: { relaxPermissions: get("development.relax_permissions") },
    notify: { ttyMessage: get("notify.tty_message") },
  };
}
