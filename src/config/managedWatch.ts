/**
 * Notices when MDM changes the managed preferences while the agent runs. macOS rewrites
 * /Library/Managed Preferences/<domain>.plist by replacing the file, so the folder is watched (a watch on the
 * file itself would follow the old inode), changes are debounced, and only a change of the file's bytes counts.
 */
import { readFileSync, watch, type FSWatcher } from "node:fs";
import { basename, dirname } from "node:path";

export interface ManagedWatch {
  close(): void;
}

function contentOf(file: string): string | undefined {
  try {
    return readFileSync(file).toString("base64");
  } catch {
    return undefined;
  }
}

/** Calls `onChange` once the file's content differs from what it was (created, replaced, edited or removed). */
export function watchManagedPreferences(file: string, onChange: () => void, debounceMs = 500): ManagedWatch {
  let last = contentOf(file);
  let timer: NodeJS.Timeout | undefined;
  const check = (): void => {
    timer = undefined;
    const now = contentOf(file);
    if (now === last) return;
    last = now;
    onChange();
  };
  let watcher: FSWatcher | undefined;
  try {
    watcher = watch(dirname(file), { persistent: false }, (_event, name) => {
      if (name !== null && name !== basename(file)) return;
      if (timer) clearTimeout(timer);
      timer = setTimeout(check, debounceMs);
    });
  } catch {
    // No managed-preferences folder (no profile ever installed): nothing can change until one is, and macOS
    // creates the folder then; the next start picks it up.
    watcher = undefined;
  }
  return {
    close() {
      if (timer) clearTimeout(timer);
      watcher?.close();
    },
  };
}
