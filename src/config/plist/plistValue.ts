/** A property-list value as macsensor reads it from XML or binary plists. */
export type PlistValue = string | number | bigint | boolean | Date | Uint8Array | PlistUid | PlistValue[] | PlistDict;

export interface PlistDict {
  [key: string]: PlistValue;
}

/** A keyed-archiver object reference (binary marker 0x8_); shaped like the `plist` package's and plistlib's. */
export interface PlistUid {
  "CF$UID": number;
}

export function isPlistDict(value: PlistValue | undefined): value is PlistDict {
  return (
    typeof value === "object" &&
    value !== null &&
    !Array.isArray(value) &&
    !(value instanceof Date) &&
    !(value instanceof Uint8Array)
  );
}
