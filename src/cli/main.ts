#!/usr/bin/env node
import { realpathSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { commands } from "./commands.js";
import { MacsensorError } from "../errors.js";
import { closestName } from "../closestName.js";

export const VERSION = "0.1.0";

export function usage(): string {
  const width = Math.max(...commands.map((c) => c.usage.length), 10);
  const lines = commands.map((c) => `  ${c.usage.padEnd(width)}  ${c.summary}`);
  return [
    "macsensor — endpoint sensor: program starts → ECS events → Elastic EQL rules → alerts or blocks",
    "",
    "Usage: macsensor <command> [options]",
    "",
    "Commands:",
    ...lines,
    "",
    "Options:",
    "  -h, --help     show this help (or `macsensor <command> --help`)",
    "  -V, --version  print the version",
  ].join("\n");
}

export async function main(argv: string[]): Promise<number> {
  const [name, ...rest] = argv;
  if (name === undefined || name === "-h" || name === "--help" || name === "help") {
    process.stdout.write(usage() + "\n");
    return name === undefined ? 2 : 0;
  }
  if (name === "-V" || name === "--version" || name === "version") {
    process.stdout.write(VERSION + "\n");
    return 0;
  }
  const entry = commands.find((c) => c.name === name);
  if (!entry) {
    const guess = closestName(name, commands.map((c) => c.name));
    process.stderr.write(`macsensor: unknown command '${name}'${guess ? ` (did you mean '${guess}'?)` : ""}\n\n${usage()}\n`);
    return 2;
  }
  const mod = await entry.load();
  return mod.run(rest);
}

function isMain(): boolean {
  const entry = process.argv[1];
  if (!entry) return false;
  try {
    return realpathSync(entry) === realpathSync(fileURLToPath(import.meta.url));
  } catch {
    return false;
  }
}

if (isMain()) {
  main(process.argv.slice(2)).then(
    (code) => {
      process.exitCode = code;
    },
    (err: unknown) => {
      if (err instanceof MacsensorError) {
        process.stderr.write(`macsensor: ${err.message}\n`);
        process.exitCode = 2;
      } else {
        process.stderr.write(`macsensor: internal error: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`);
        process.exitCode = 70;
      }
    },
  );
}
