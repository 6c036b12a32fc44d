#!/usr/bin/env node
// Writes a copy of a plist template (the entitlements, an MDM profile) with the placeholder Team ID replaced by the
// build's. build-pkg.sh calls it; it is plain Node so the step also runs, and is tested, on Linux.
//
//   node launchd/fill-team-id.mjs [--placeholder-optional] TEAM_ID TEMPLATE OUTPUT
//
// Without --placeholder-optional a template with no placeholder is refused (the entitlements must name the team);
// with it such a template is copied unchanged (an MDM profile that names no team).
// Exit 0 on success, 2 with a message naming the file on bad input (nothing is written then).
import { readFileSync, writeFileSync } from "node:fs";
import { pathToFileURL } from "node:url";

export const PLACEHOLDER = "TEAMID1234";
/** Apple Team IDs are 10 characters, upper-case letters and digits. */
const TEAM_ID = /^[A-Z0-9]{10}$/;

/** The template's text with every placeholder replaced; throws an Error that names the file on bad input. */
export function fillTeamId(text, teamId, file, { placeholderOptional = false } = {}) {
  if (!TEAM_ID.test(teamId)) {
    throw new Error(`TEAM_ID "${teamId}" is not a Team ID (10 upper-case letters or digits, from developer.apple.com)`);
  }
  if (teamId === PLACEHOLDER) throw new Error(`TEAM_ID is the placeholder ${PLACEHOLDER}: set your own Team ID`);
  if (!placeholderOptional && !text.includes(PLACEHOLDER)) throw new Error(`${file}: no ${PLACEHOLDER} placeholder to fill in`);
  const comment = text.indexOf("<!--");
  if (comment >= 0) {
    const line = text.slice(0, comment).split("\n").length;
    throw new Error(`${file}:${line}: XML comment; signing and MDM payloads must carry none (see docs/deployment.md)`);
  }
  return text.replaceAll(PLACEHOLDER, teamId);
}

function main(args) {
  const placeholderOptional = args[0] === "--placeholder-optional";
  const rest = placeholderOptional ? args.slice(1) : args;
  if (rest.length !== 3) {
    process.stderr.write("usage: fill-team-id.mjs [--placeholder-optional] TEAM_ID TEMPLATE OUTPUT\n");
    return 2;
  }
  const [teamId, template, output] = rest;
  try {
    writeFileSync(output, fillTeamId(readFileSync(template, "utf8"), teamId, template, { placeholderOptional }));
    return 0;
  } catch (err) {
    process.stderr.write(`fill-team-id: ${err instanceof Error ? err.message : String(err)}\n`);
    return 2;
  }
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) process.exitCode = main(process.argv.slice(2));
