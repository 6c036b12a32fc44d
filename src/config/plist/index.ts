import { readFileSync } from "node:fs";
import { isBinaryPlist, parseBinaryPlist } from "./binaryPlist.js";
import { PlistError } from "./plistError.js";
import type { PlistValue } from "./plistValue.js";
import { parseXmlPlist } from "./xmlPlist.js";

export { parseBinaryPlist, isBinaryPlist } from "./binaryPlist.js";
export { parseXmlPlist } from "./xmlPlist.js";
export { PlistError } from "./plistError.js";
export { isPlistDict, type PlistDict, type PlistUid, type PlistValue } from "./plistValue.js";

/** Parses a plist in either form, telling them apart by the `bplist` header. */
export function parsePlist(bytes: Uint8Array, file = "<plist>"): PlistValue {
  if (isBinaryPlist(bytes)) return parseBinaryPlist(bytes, file);
  let text: string;
  try {
    text = new TextDecoder("utf-8", { fatal: true }).decode(bytes);
  } catch {
    throw new PlistError("neither a binary plist nor UTF-8 XML", file, 0);
  }
  return parseXmlPlist(text, file);
}

export function readPlistFile(file: string): PlistValue {
  return parsePlist(readFileSync(file), file);
}
