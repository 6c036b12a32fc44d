/**
 * Which opens the Linux file backend holds for a verdict (fanotify FAN_OPEN_PERM), derived from the loaded block
 * rules: every open a block rule could match must be held, or the rule could not block it; every other open
 * should not be, since each held open waits for the agent.
 *
 * Per block rule, each stage that can see an open (src/agent/eventRelevance.ts queryKinds, so a rule for another
 * host.os.type guards nothing) gives where its opens can be, from its file.path / file.directory / file.name /
 * file.extension conditions (a conjunction keeps its narrowest operand, a disjunction needs all of its branches):
 * - children of a directory: `file.path == "/etc/shadow"` (the children of /etc), `file.directory == "/etc/ssh"`.
 *   Marked on the directory, not on the file: a file replaced by rename (how passwd writes /etc/shadow) is a new
 *   inode that a mark on the old one would miss, and a file created later is covered too.
 * - a subtree: a pattern with a literal head, `file.path : "/Users/*\/Library/Keychains/*"` (EQL's `*` crosses
 *   "/"), under /Users. fanotify has no recursive directory mark, so the filesystem of that directory is marked
 *   whole, with every filesystem mounted under it.
 * - anywhere: a name, an extension, a pattern without a literal head: every local filesystem is marked.
 * Opens under those marks are held only when their path passes the guard filter: the AUTH_OPEN pre-filter of the
 * same stages (src/sensor/esPrefilter.ts deriveOpenPrefilter), checked natively; the others are allowed at once.
 * A directory that does not exist (yet) is covered by the subtree of its nearest existing ancestor.
 *
 * A stage whose opens cannot be placed (no usable path condition: `file where process.name == "x"`) would need
 * every open on the host held for JavaScript; the rule is instead reported as unguarded: it still alerts, and its
 * block falls back to what the agent does on a backend that cannot block (block_fallback), never silently.
 */
import { readFileSync, realpathSync, statSync } from "node:fs";
import type { EventQuery, Query } from "../eql/ast.js";
import { queryKinds, type SensorContext } from "../agent/eventRelevance.js";
import { deriveOpenPrefilter, type FilePrefilterSpec } from "./esPrefilter.js";
import { conditionCover, type CoverKind } from "./conditionCover.js";

/** A block rule as the guard derivation sees it. */
export interface GuardedRule {
  id: string;
  name: string;
  query: Query;
}

/** Where a stage's opens can be. */
export type GuardTarget = { kind: "children"; dir: string } | { kind: "subtree"; dir: string } | { kind: "anywhere" };

export interface RuleGuardTargets {
  /** Null when the rule sees no open on this sensor (nothing to guard). */
  targets: GuardTarget[] | null;
  /** Set when some stage's opens cannot be placed: the rule cannot be guarded. */
  unguardable?: string;
  /** The pre-filter of its open stages (the guard filter's share of this rule). */
  filter?: FilePrefilterSpec;
}

/** The targets of one block rule's open-seeing stages. */
export function ruleGuardTargets(query: Query, context: SensorContext): RuleGuardTargets {
  const stages: EventQuery[] = query.body.kind === "event" ? [query.body] : query.body.stages.filter((s) => !s.missing).map((s) => s.query);
  const targets: GuardTarget[] = [];
  const openStages: Query[] = [];
  for (const stage of stages) {
    const asQuery: Query = { ...query, body: stage, pipes: [] };
    if (!queryKinds(asQuery, context).has("open")) continue;
    const t = conditionCover(stage.condition, GUARD_TARGETS);
    if (t === "any") return { targets: null, unguardable: "no file.path, file.directory, file.name or file.extension condition says which files it opens" };
    targets.push(...t);
    openStages.push(asQuery);
  }
  if (openStages.length === 0) return { targets: null };
  const filter = deriveOpenPrefilter(openStages);
  if (filter === null) return { targets: null, unguardable: "its file conditions are too broad or too many to check natively" };
  return { targets: dedupeTargets(targets), filter };
}

/** Where a condition's opens can be (see conditionCover). */
const GUARD_TARGETS: CoverKind<GuardTarget[]> = {
  none: () => [],
  atom: (field, text, wildcards) => [targetOf(field, text, wildcards && /[*?]/.test(text))],
  union: (a, b) => [...a, ...b],
  narrower: (a, b) => cost(a) < cost(b),
  fields: ["file.path", "file.directory", "file.name", "file.extension"],
};

function targetOf(field: string, text: string, hasWildcard: boolean): GuardTarget {
  if (field === "file.name" || field === "file.extension") return { kind: "anywhere" };
  if (!hasWildcard) {
    if (!text.startsWith("/")) return { kind: "anywhere" };
    if (field === "file.directory") return { kind: "children", dir: trimSlash(text) };
    return { kind: "children", dir: parentOf(text) };
  }
  // The literal head's last "/" ends a directory every match lies under.
  const head = text.slice(0, text.search(/[*?]/));
  if (!head.startsWith("/")) return { kind: "anywhere" };
  return { kind: "subtree", dir: parentOf(head + "x") };
}

function trimSlash(path: string): string {
  const trimmed = path.replace(/\/+$/, "");
  return trimmed === "" ? "/" : trimmed;
}

function parentOf(path: string): string {
  const p = trimSlash(path);
  const slash = p.lastIndexOf("/");
  return slash <= 0 ? "/" : p.slice(0, slash);
}

const COST = { children: 1, subtree: 100, anywhere: 10_000 } as const;

function cost(targets: GuardTarget[]): number {
  return targets.reduce((n, t) => n + COST[t.kind], 0);
}

function dedupeTargets(targets: GuardTarget[]): GuardTarget[] {
  const seen = new Map<string, GuardTarget>();
  for (const t of targets) seen.set(t.kind === "anywhere" ? "anywhere" : `${t.kind}:${t.dir}`, t);
  return [...seen.values()];
}

/** A mounted filesystem (/proc/self/mountinfo). */
export interface Mount {
  mountPoint: string;
  fsType: string;
}

/** What the plan needs to know of the host's files; the real one reads the file system and /proc. */
export interface GuardFacts {
  /** The directory's canonical path (symlinks resolved), or undefined when it is not an existing directory. */
  realDir(path: string): string | undefined;
  mounts(): Mount[];
}

/** What the native side marks, and why, for the report. */
export interface GuardPlan {
  /** Directories whose children's opens are checked. */
  dirs: string[];
  /** One path per filesystem marked whole (a mount point). */
  filesystems: string[];
  /** The native check of an open under those marks; null when no rule is guarded (nothing held). */
  filter: FilePrefilterSpec | null;
  /** Each mark with the rules it is for ("dir /etc: rule <id> (name)"). */
  marks: GuardMarkReason[];
  /** Block rules no mark can serve: they never hold an open. */
  unguarded: { id: string; name: string; reason: string }[];
}

export interface GuardMarkReason {
  kind: "dir" | "filesystem";
  path: string;
  rules: string[];
  /** How the mark follows from the rules, when not plainly (a missing directory, a wildcard). */
  note?: string;
}

/** Filesystems no file a rule is about lives on, and on which a permission mark would only cost. */
const PSEUDO_FS = new Set([
  "proc", "sysfs", "cgroup", "cgroup2", "devpts", "mqueue", "debugfs", "tracefs", "securityfs", "pstore", "bpf",
  "configfs", "fusectl", "hugetlbfs", "autofs", "binfmt_misc", "nsfs", "efivarfs", "rpc_pipefs", "selinuxfs",
]);

/** The marks for a set of block rules on this host. */
export function planFileGuards(rules: readonly GuardedRule[], context: SensorContext, facts: GuardFacts): GuardPlan {
  const dirs = new Map<string, GuardMarkReason>();
  const filesystems = new Map<string, GuardMarkReason>();
  const unguarded: GuardPlan["unguarded"] = [];
  const filters: FilePrefilterSpec[] = [];
  let mounts: Mount[] | undefined;
  const localMounts = () => (mounts ??= facts.mounts().filter((m) => !PSEUDO_FS.has(m.fsType)));
  const add = (into: Map<string, GuardMarkReason>, kind: GuardMarkReason["kind"], path: string, rule: string, note?: string) => {
    const mark = into.get(path) ?? { kind, path, rules: [] };
    if (!mark.rules.includes(rule)) mark.rules.push(rule);
    if (note !== undefined && mark.note === undefined) mark.note = note;
    into.set(path, mark);
  };
  const subtree = (dir: string, rule: string, note: string) => {
    const { real, missing } = nearestDir(dir, facts);
    const mountOf = (path: string) =>
      localMounts()
        .filter((m) => underDir(path, m.mountPoint))
        .reduce<Mount | undefined>((best, m) => (best === undefined || m.mountPoint.length > best.mountPoint.length ? m : best), undefined);
    const own = mountOf(real);
    if (own) add(filesystems, "filesystem", own.mountPoint, rule, missing ? `${note}; ${dir} does not exist, so the filesystem of ${real}` : note);
    for (const m of localMounts()) if (m !== own && underDir(m.mountPoint, real) && m.mountPoint !== real) add(filesystems, "filesystem", m.mountPoint, rule, `mounted under ${real}`);
    if (own === undefined) add(filesystems, "filesystem", real, rule, note);
  };
  for (const rule of rules) {
    const label = `${rule.id} (${rule.name})`;
    const derived = ruleGuardTargets(rule.query, context);
    if (derived.unguardable !== undefined) {
      unguarded.push({ id: rule.id, name: rule.name, reason: derived.unguardable });
      continue;
    }
    if (derived.targets === null || derived.filter === undefined) continue;
    filters.push(derived.filter);
    for (const t of derived.targets) {
      if (t.kind === "anywhere") {
        for (const m of localMounts()) add(filesystems, "filesystem", m.mountPoint, label, "a name, extension or pattern that may be anywhere");
      } else if (t.kind === "subtree") {
        subtree(t.dir, label, `files anywhere under ${t.dir}`);
      } else {
        const real = facts.realDir(t.dir);
        if (real !== undefined) add(dirs, "dir", real, label, real === t.dir ? undefined : `${t.dir} resolves to ${real}`);
        else subtree(t.dir, label, `files in ${t.dir}`);
      }
    }
  }
  return {
    dirs: [...dirs.keys()].sort(),
    filesystems: [...filesystems.keys()].sort(),
    filter: filters.length === 0 ? null : mergeFilters(filters),
    marks: [...dirs.values(), ...filesystems.values()],
    unguarded,
  };
}

function nearestDir(dir: string, facts: GuardFacts): { real: string; missing: boolean } {
  let d = dir;
  for (;;) {
    const real = facts.realDir(d);
    if (real !== undefined) return { real, missing: d !== dir };
    if (d === "/") return { real: "/", missing: true };
    d = parentOf(d);
  }
}

/** "/a/b" is under "/a" and under itself, not under "/ab". */
function underDir(path: string, dir: string): boolean {
  return dir === "/" || path === dir || path.startsWith(dir.endsWith("/") ? dir : `${dir}/`);
}

function mergeFilters(filters: FilePrefilterSpec[]): FilePrefilterSpec {
  const uniq = (xs: string[]) => [...new Set(xs)].sort();
  return {
    pathEquals: uniq(filters.flatMap((f) => f.pathEquals)),
    pathPrefix: uniq(filters.flatMap((f) => f.pathPrefix)),
    pathSuffix: uniq(filters.flatMap((f) => f.pathSuffix)),
    pathContains: uniq(filters.flatMap((f) => f.pathContains)),
    nameEquals: uniq(filters.flatMap((f) => f.nameEquals)),
  };
}

/** The facts of this host: realpath of directories, /proc/self/mountinfo. */
export function hostGuardFacts(): GuardFacts {
  return {
    realDir(path) {
      try {
        return statSync(path).isDirectory() ? realpathSync(path) : undefined;
      } catch {
        return undefined;
      }
    },
    mounts() {
      try {
        return parseMountInfo(readFileSync("/proc/self/mountinfo", "utf8"));
      } catch {
        return [{ mountPoint: "/", fsType: "unknown" }];
      }
    },
  };
}

/** /proc/self/mountinfo: field 5 is the mount point (octal escapes for space, tab, newline, backslash), the type follows " - ". */
export function parseMountInfo(text: string): Mount[] {
  const out: Mount[] = [];
  for (const line of text.split("\n")) {
    const fields = line.split(" ");
    const dash = fields.indexOf("-", 6);
    if (fields.length < 7 || dash < 0 || dash + 1 >= fields.length) continue;
    out.push({ mountPoint: fields[4].replace(/\\([0-7]{3})/g, (_, o: string) => String.fromCharCode(parseInt(o, 8))), fsType: fields[dash + 1] });
  }
  return out;
}
