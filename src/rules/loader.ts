import { readFileSync, realpathSync, statSync } from "node:fs";
import { RuleError } from "./ruleError.js";
import { walkRuleFolder, type RuleFolderEntry } from "./ruleFolder.js";
import { parseRuleFile, type LoadedRule, type RuleFileOptions, type RuleFileResult } from "./ruleFile.js";
import { findKey, scanToml } from "../toml/tomlLayout.js";

export interface LoadResult {
  /** The rules that loaded, in file order. */
  rules: LoadedRule[];
  /** One entry per rule file seen, in the order read (folders: sorted, recursively). */
  files: RuleFileResult[];
  /** The errors among `files`, for convenience. */
  errors: RuleError[];
}

function errorResult(file: string, reason: string, cause?: unknown): RuleFileResult {
  return { status: "error", file, error: new RuleError(reason, "", { file, cause }) };
}

/**
 * Loads rule files and folders (recursively, `*.toml`; see walkRuleFolder for links). A file named directly is read
 * whatever its extension.
 * Bad files become error entries; they never stop the others. A rule_id already loaded from an earlier file is an
 * error for the later file.
 */
export function loadRules(paths: readonly string[], options: RuleFileOptions = {}): LoadResult {
  const files: RuleFileResult[] = [];
  const loadedFrom = new Map<string, string>();
  const seenDirs = new Set<string>();
  const seenFiles = new Set<string>();

  const loadFile = (file: string): void => {
    let real: string;
    try {
      real = realpathSync(file);
    } catch {
      real = file;
    }
    if (seenFiles.has(real)) return;
    seenFiles.add(real);
    let text: string;
    try {
      text = readFileSync(file, "utf8");
    } catch (err) {
      files.push(errorResult(file, `cannot read: ${(err as NodeJS.ErrnoException).code ?? String(err)}`, err));
      return;
    }
    const result = parseRuleFile(text, file, options);
    if (result.status === "loaded") {
      const id = result.rule.metadata.ruleId;
      const first = loadedFrom.get(id);
      if (first !== undefined) {
        const key = findKey(scanToml(text), "rule.rule_id");
        const error = new RuleError(`duplicate rule_id "${id}" (already loaded from ${first})`, text, {
          file,
          field: "rule.rule_id",
          offset: key?.keyOffset,
          width: key ? key.valueEnd - key.keyOffset : 1,
          ruleId: id,
          name: result.rule.metadata.name,
        });
        files.push({ status: "error", file, ruleId: id, name: result.rule.metadata.name, error });
        return;
      }
      loadedFrom.set(id, file);
    }
    files.push(result);
  };

  for (const path of paths) {
    let isDir: boolean;
    try {
      isDir = statSync(path).isDirectory();
    } catch (err) {
      files.push(errorResult(path, `cannot read: ${(err as NodeJS.ErrnoException).code === "ENOENT" ? "no such file or folder" : String(err)}`, err));
      continue;
    }
    if (!isDir) {
      loadFile(path);
      continue;
    }
    let found: RuleFolderEntry[];
    try {
      found = walkRuleFolder(path, seenDirs);
    } catch (err) {
      files.push(errorResult(path, `cannot read folder: ${(err as NodeJS.ErrnoException).code ?? String(err)}`, err));
      continue;
    }
    for (const entry of found) {
      if (entry.problem === undefined) loadFile(entry.file);
      else files.push(errorResult(entry.file, entry.problem));
    }
  }

  const rules: LoadedRule[] = [];
  const errors: RuleError[] = [];
  for (const f of files) {
    if (f.status === "loaded") rules.push(f.rule);
    else if (f.status === "error") errors.push(f.error);
  }
  return { rules, files, errors };
}
