/**
 * Refuses configuration and rules that a non-root user could change, as sshd's StrictModes does: the file and
 * every folder up to `/` must be owned by root (or by the user running macsensor) and not writable by group or
 * others. A symbolic link named as the path is followed and both the link's folders and the target's are checked;
 * below a rule folder, links are checked themselves (their owner) and their targets inside the folder as entries of
 * it (the loader follows no link out of the folder).
 *
 * One exception on macOS: writable by the `admin` group (gid 80), as some of /Library is. Its members are the
 * Mac's administrators, who can already become root with sudo, so it gives no one a way in they lack.
 */
import { lstatSync, readdirSync, realpathSync, statSync, type Dirent, type Stats } from "node:fs";
import { dirname, join, resolve } from "node:path";
import { MacsensorError } from "../errors.js";

export class UntrustedPathError extends MacsensorError {
  override name = "UntrustedPathError";
  /** The path that was asked about. */
  readonly path: string;
  /** The path (the file itself, or a folder above it) that fails, and why. */
  readonly offender: string;
  readonly why: string;

  constructor(path: string, offender: string, why: string) {
    super(
      `refusing to load ${path}: ${offender === path ? "it" : offender} ${why}, so a non-root user could change ` +
        `what macsensor loads. ` +
        `Fix: chown root and chmod go-w (e.g. sudo chown root:wheel '${offender}' && sudo chmod go-w '${offender}'); ` +
        `for development only, set development.relax_permissions = true or MACSENSOR_DEV=1`,
    );
    this.path = path;
    this.offender = offender;
    this.why = why;
  }
}

export interface TrustOptions {
  /** Accept untrusted paths, returning what would have been refused as warnings. */
  relax?: boolean;
  /** Also check every file and folder below a folder (rule folders are loaded recursively). */
  recursive?: boolean;
  /** Environment consulted for MACSENSOR_DEV=1; defaults to process.env. */
  env?: NodeJS.ProcessEnv;
  /** Whose rules apply (the macOS admin-group exception); defaults to process.platform. */
  platform?: NodeJS.Platform;
}

/** macOS's `admin` group. */
const DARWIN_ADMIN_GID = 80;

/** Whether the development relaxation is on: the explicit option, or `MACSENSOR_DEV=1` in the environment. */
export function permissionsRelaxed(options: { relax?: boolean; env?: NodeJS.ProcessEnv } = {}): boolean {
  return options.relax === true || (options.env ?? process.env).MACSENSOR_DEV === "1";
}

function trustedOwners(): Set<number> {
  const owners = new Set([0]);
  const euid = process.geteuid?.();
  if (euid !== undefined) owners.add(euid);
  return owners;
}

interface Trusted {
  owners: Set<number>;
  /** Groups allowed to have write permission. */
  writerGroups: Set<number>;
}

/**
 * Why this entry is untrusted, or undefined. Symbolic links' own mode bits mean nothing; their owner does.
 * A root-owned sticky folder (/tmp, /private/tmp) is fine as an ancestor: others may add entries there but
 * cannot rename or remove the ones below it that lead to our file, which the check of those entries covers.
 */
function problemWith(st: Stats, { owners, writerGroups }: Trusted, isAncestor = false): string | undefined {
  if (!owners.has(st.uid)) {
    return `is owned by uid ${st.uid}, not root${owners.size > 1 ? " or the user running macsensor" : ""}`;
  }
  if (st.isSymbolicLink()) return undefined;
  if (isAncestor && st.isDirectory() && st.mode & 0o1000 && st.uid === 0) return undefined;
  const mode = `mode ${(st.mode & 0o7777).toString(8).padStart(4, "0")}`;
  if (st.mode & 0o002) return `is writable by others (${mode})`;
  if (st.mode & 0o020 && !writerGroups.has(st.gid)) return `is writable by its group, gid ${st.gid} (${mode})`;
  return undefined;
}

/** Entries from `p` up to `/`. */
function chain(p: string): string[] {
  const out = [p];
  for (let d = dirname(p); d !== out[out.length - 1]; d = dirname(d)) out.push(d);
  return out;
}

function checkOne(path: string, trusted: Trusted, found: Array<[string, string]>): void {
  const lexical = resolve(path);
  const real = realpathSync(lexical);
  for (const entry of chain(lexical)) {
    const why = problemWith(lstatSync(entry), trusted, entry !== lexical);
    if (why) found.push([entry, why]);
  }
  if (real !== lexical) {
    for (const entry of chain(real)) {
      const why = problemWith(statSync(entry), trusted, entry !== real);
      if (why && !found.some(([p]) => p === entry)) found.push([entry, `(target of ${lexical}) ${why}`]);
    }
  }
}

/**
 * Every entry below the real folder `dir`, links included but never followed: the rule loader follows a link only
 * to a target inside the folder, which this walk reaches by its real path anyway, so nothing the loader reads is
 * missed, and the walk cannot loop. An entry removed while we walk is not loaded either, so it is passed over.
 */
function walk(dir: string, trusted: Trusted, found: Array<[string, string]>): void {
  let entries: Dirent[];
  try {
    entries = readdirSync(dir, { withFileTypes: true });
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === "ENOENT") return;
    throw err;
  }
  for (const entry of entries) {
    const p = join(dir, entry.name);
    let st: Stats;
    try {
      st = lstatSync(p);
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === "ENOENT") continue;
      throw err;
    }
    const why = problemWith(st, trusted);
    if (why) found.push([p, why]);
    if (st.isDirectory()) walk(p, trusted, found);
  }
}

/**
 * The trust check of every rule load (start, SIGHUP, any reload): each rule path and everything below it. A rule
 * path that cannot be checked (missing, a link loop) refuses the load too, with a MacsensorError naming it: a
 * reload must not quietly drop a whole folder of rules.
 */
export function checkTrustedRulePaths(paths: readonly string[], options: Omit<TrustOptions, "recursive"> = {}): string[] {
  return paths.flatMap((path) => {
    try {
      return checkTrustedPath(path, { ...options, recursive: true });
    } catch (err) {
      const code = (err as NodeJS.ErrnoException).code;
      if (err instanceof MacsensorError || code === undefined) throw err;
      const why = code === "ENOENT" ? "no such file or folder" : code === "ELOOP" ? "symbolic link loop (ELOOP)" : code;
      throw new MacsensorError(`cannot check the rule path ${path}: ${why}`, { cause: err });
    }
  });
}

/**
 * Checks that `path` (and, with `recursive`, everything under it) can only be changed by root. Throws
 * UntrustedPathError naming the first offending path and why; when relaxed, returns those problems as warnings
 * instead. Returns [] for a trusted path. A path that does not exist throws the fs error (ENOENT).
 */
export function checkTrustedPath(path: string, options: TrustOptions = {}): string[] {
  const platform = options.platform ?? process.platform;
  const trusted: Trusted = { owners: trustedOwners(), writerGroups: new Set(platform === "darwin" ? [DARWIN_ADMIN_GID] : []) };
  const found: Array<[string, string]> = [];
  checkOne(path, trusted, found);
  if (options.recursive && statSync(path).isDirectory()) walk(realpathSync(path), trusted, found);
  if (found.length === 0) return [];
  if (!permissionsRelaxed(options)) {
    const [offender, why] = found[0];
    throw new UntrustedPathError(path, offender, why);
  }
  return found.map(([p, why]) => `permission check relaxed (development): ${p} ${why}`);
}
