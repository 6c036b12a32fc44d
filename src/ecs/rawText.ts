import type { RawText } from "../sensor/rawEvent.js";
import type { RawBytesEntry } from "./ecsEvent.js";

const lenientUtf8 = new TextDecoder("utf-8", { fatal: false });

/**
 * Turns raw text into the string an ECS field holds. Bytes (text that was not valid UTF-8) are decoded with
 * U+FFFD replacements, and their exact bytes are appended to `rawBytes` under `field` (and `index` for arrays).
 */
export function decodeRawText(text: RawText, field: string, rawBytes: RawBytesEntry[], index?: number): string {
  if (typeof text === "string") return text;
  const entry: RawBytesEntry = index === undefined ? { field, base64: toBase64(text) } : { field, index, base64: toBase64(text) };
  rawBytes.push(entry);
  return lenientUtf8.decode(text);
}

/** Decoded text for places that keep no raw-bytes record (e.g. derived or cached values). */
export function rawTextToString(text: RawText): string {
  return typeof text === "string" ? text : lenientUtf8.decode(text);
}

export function toBase64(bytes: Uint8Array): string {
  return Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString("base64");
}

/** The last path component; the whole text when it has no slash. */
export function basename(path: string): string {
  const slash = path.lastIndexOf("/");
  return slash < 0 ? path : path.slice(slash + 1);
}
