import { createHash } from "node:crypto";

/**
 * process.entity_id: the first 16 bytes of sha256("<host.id>|<pid>|<start ms>") as base64url (22 characters).
 * Start is the process's fork time, so the id survives exec (Defend: the same id from fork through every exec to exit)
 * and differs when a pid is reused.
 */
export function processEntityId(hostId: string, pid: number, startMs: number): string {
  return shortHash(`${hostId}|${pid}|${startMs}`);
}

/** 16 bytes of sha256 as base64url: 22 characters, the shape of Defend's macOS ids. */
export function shortHash(text: string): string {
  return createHash("sha256").update(text).digest().subarray(0, 16).toString("base64url");
}
