/**
 * The walk of a rule folder: every `*.toml` below it, sorted, recursively. A symbolic link is followed only when
 * its target lies inside the folder walked (the root); each real folder is read once, so the walk ends whatever
 * the links. What cannot be followed (a link out of the root, a link loop, a broken `*.toml` link, a folder that
 * cannot be read) is returned as a problem in its place, so the caller reports it and goes on with the rest.
 */
import { readdirSync, realpathSync, statSync, type Dirent } from "node:fs";
import { join, relative, sep } from "node:path";

export type RuleFolderEntry = { file: string; problem?: undefined } | { file: string; problem: string };

/** Whether `real` is `root` or lies below it (both real paths). */
export function isInside(root: string, real: string): boolean {
  const rel = relative(root, real);
  return rel === "" || (rel !== ".." && !rel.startsWith(`..${sep}`) && !rel.startsWith(sep));
}

function errnoCode(err: unknown): string {
  return (err as NodeJS.ErrnoException).code ?? String(err);
}

function byName(a: Dirent, b: Dirent): number {
  return a.name < b.name ? -1 : a.name > b.name ? 1 : 0;
}

/**
 * Walks the rule folder `path`. `seenDirs` holds the real paths of folders already read (shared across the rule
 * paths of one load, so a folder reached twice is read once).
 */
export function walkRuleFolder(path: string, seenDirs: Set<string>): RuleFolderEntry[] {
  const root = realpathSync(path);
  const out: RuleFolderEntry[] = [];

  const visit = (dir: string, real: string): void => {
    if (seenDirs.has(real)) return;
    seenDirs.add(real);
    let entries: Dirent[];
    try {
      entries = readdirSync(dir, { withFileTypes: true }).sort(byName);
    } catch (err) {
      out.push({ file: dir, problem: `cannot read folder: ${errnoCode(err)}` });
      return;
    }
    for (const entry of entries) {
      const p = join(dir, entry.name);
      const isToml = entry.name.endsWith(".toml");
      if (entry.isDirectory()) {
        visit(p, join(real, entry.name));
      } else if (entry.isFile()) {
        if (isToml) out.push({ file: p });
      } else if (entry.isSymbolicLink()) {
        followLink(p, isToml);
      }
    }
  };

  const followLink = (link: string, isToml: boolean): void => {
    let target: string;
    try {
      target = realpathSync(link);
    } catch (err) {
      const code = errnoCode(err);
      if (code === "ELOOP") out.push({ file: link, problem: "symbolic link loop (ELOOP): following it never reaches a file or folder; not followed" });
      else if (code === "ENOENT" || code === "ENOTDIR") {
        if (isToml) out.push({ file: link, problem: "broken symbolic link: its target does not exist" });
      } else out.push({ file: link, problem: `cannot follow symbolic link: ${code}` });
      return;
    }
    let isDir: boolean;
    try {
      const st = statSync(target);
      isDir = st.isDirectory();
      if (!isDir && !(st.isFile() && isToml)) return;
    } catch (err) {
      out.push({ file: link, problem: `cannot follow symbolic link: ${errnoCode(err)}` });
      return;
    }
    if (!isInside(root, target)) {
      out.push({ file: link, problem: `symbolic link to ${target}, outside the rule folder ${root}; not followed` });
      return;
    }
    if (isDir) visit(link, target);
    else out.push({ file: link });
  };

  visit(path, root);
  return out;
}
