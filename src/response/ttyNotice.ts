/**
 * Tells the person at the keyboard that macsensor stopped something: one line on the blocked program's controlling
 * terminal, as Santa does, so "operation not permitted" is not all they see. The text is the admin's (config
 * `notify.tty_message`), with the rule's name and what was stopped filled in.
 *
 * The write never blocks the event path: the terminal is opened non-blocking, without becoming our controlling
 * terminal, and written asynchronously; a terminal that is gone or full loses the line, never an event.
 */
import { open, write, close, constants } from "node:fs";
import type { EcsEvent } from "../ecs/ecsEvent.js";
import { printableLine } from "../output/printable.js";

export const DEFAULT_TTY_MESSAGE = "macsensor {action} {what} (rule: {rule}). If you need this, contact your IT help desk.";

/** Only real terminal devices: the path comes from an event, and we must never write into an ordinary file. */
const TERMINAL = /^\/dev\/(?:pts\/\d+|ttys?\d+|tty[a-z]?\d*|console)$/;

export interface TtyNotice {
  /** The controlling terminal of the process that was stopped, e.g. `/dev/pts/3` or `/dev/ttys001`. */
  tty: string;
  rule: string;
  /** `blocked` (the exec or open was denied) or `killed`. */
  action: "blocked" | "killed";
  event: EcsEvent;
}

export interface TtyNotifier {
  notify(notice: TtyNotice): void;
  /** Lines written and lost so far (a lost line: the terminal could not be opened or written). */
  stats(): { written: number; lost: number };
}

/** `{what}`: "running /usr/bin/security", "opening /Users/ann/Library/Keychains/login.keychain-db". */
function describeWhat(event: EcsEvent): string {
  const file = event.file as { path?: unknown } | undefined;
  const process = event.process as { executable?: unknown; name?: unknown } | undefined;
  const program = typeof process?.executable === "string" ? process.executable : typeof process?.name === "string" ? process.name : "a program";
  if (typeof file?.path === "string") return `${program} opening ${file.path}`;
  return `running ${program}`;
}

/** The line as the terminal shows it: placeholders filled, control characters escaped, one line. */
export function formatTtyMessage(template: string, notice: Omit<TtyNotice, "tty">): string {
  const fields: Record<string, string> = { action: notice.action, what: describeWhat(notice.event), rule: notice.rule };
  const text = template.replace(/\{(action|what|rule)\}/g, (_, name: string) => fields[name]);
  return `${printableLine(text, 1024)}\r\n`;
}

export function createTtyNotifier(template: string = DEFAULT_TTY_MESSAGE): TtyNotifier {
  let written = 0;
  let lost = 0;
  return {
    notify(notice) {
      if (!TERMINAL.test(notice.tty)) {
        lost++;
        return;
      }
      const line = Buffer.from(formatTtyMessage(template, notice));
      open(notice.tty, constants.O_WRONLY | constants.O_NOCTTY | constants.O_NONBLOCK, (err, fd) => {
        if (err) {
          lost++;
          return;
        }
        write(fd, line, (werr, bytes) => {
          if (werr || bytes !== line.length) lost++;
          else written++;
          close(fd, () => {});
        });
      });
    },
    stats: () => ({ written, lost }),
  };
}
