/**
 * What a query's fields are, as an index mapping says: the Elasticsearch mapping type of each field name. The
 * type checker (typeCheck.ts) reads it; the EQL engine itself never needs it. The schema can come from ECS
 * (src/ecs/ecsSchema.ts) or from a mapping file.
 */

import { closestName } from "../closestName.js";

/** How the type checker treats a mapping type. */
export type TypeFamily =
  /** keyword, constant_keyword, wildcard, version, flattened sub-fields: exact strings. */
  | "string"
  /** text, match_only_text: analysed, no exact value (==, :, like, functions refuse them). */
  | "text"
  | "numeric"
  | "boolean"
  | "date"
  | "ip"
  /** An object: its sub-fields hold the values. */
  | "object"
  /** geo_point, nested, binary, ranges, ...: EQL cannot use them. */
  | "unsupported";

const FAMILIES: Readonly<Record<string, TypeFamily>> = {
  keyword: "string",
  constant_keyword: "string",
  wildcard: "string",
  version: "string",
  flattened: "string",
  text: "text",
  match_only_text: "text",
  long: "numeric",
  integer: "numeric",
  short: "numeric",
  byte: "numeric",
  double: "numeric",
  float: "numeric",
  half_float: "numeric",
  scaled_float: "numeric",
  unsigned_long: "numeric",
  boolean: "boolean",
  date: "date",
  date_nanos: "date",
  ip: "ip",
  object: "object",
};

export function typeFamily(type: string): TypeFamily {
  return FAMILIES[type] ?? "unsupported";
}

/** A field as the schema knows it. */
export interface FieldInfo {
  /** The mapping type ("keyword", "long", "ip", ...). */
  type: string;
  family: TypeFamily;
  /** Set when the field sits under a `nested` field (Elasticsearch's EQL cannot search those). */
  nestedIn?: string;
}

export interface FieldSchema {
  /** What the schema says about a dotted field name; undefined when the field is not in it. */
  lookup(field: string): FieldInfo | undefined;
  /** The known field name closest to `field` (edit distance), for "did you mean"; undefined when none is close. */
  closest(field: string): string | undefined;
}

/**
 * A schema from a flat map of field names to mapping types. Parents of listed fields are objects. Sub-fields of
 * a `flattened` field are keywords; sub-fields of an object listed in `objectTypes` (ECS `labels`) have that type.
 */
export function createFieldSchema(types: Readonly<Record<string, string>>, objectTypes: Readonly<Record<string, string>> = {}): FieldSchema {
  const known = new Map<string, string>();
  for (const [name, type] of Object.entries(types)) known.set(name, type);
  for (const name of Object.keys(types)) {
    for (let dot = name.indexOf("."); dot > 0; dot = name.indexOf(".", dot + 1)) {
      const parent = name.slice(0, dot);
      if (!known.has(parent)) known.set(parent, "object");
    }
  }
  const names = [...known.keys()];
  const cache = new Map<string, FieldInfo | undefined>();

  const resolve = (field: string): FieldInfo | undefined => {
    let info: FieldInfo | undefined;
    const type = known.get(field);
    if (type !== undefined) {
      info = { type, family: typeFamily(type) };
    } else {
      // A free sub-field of a flattened field or of an object with an object type.
      for (let dot = field.lastIndexOf("."); dot > 0 && !info; dot = field.lastIndexOf(".", dot - 1)) {
        const parent = field.slice(0, dot);
        const objectType = objectTypes[parent];
        if (objectType !== undefined) info = { type: objectType, family: typeFamily(objectType) };
        else if (known.get(parent) === "flattened") info = { type: "keyword", family: "string" };
      }
    }
    if (!info) return undefined;
    for (let dot = field.indexOf("."); dot > 0; dot = field.indexOf(".", dot + 1)) {
      const parent = field.slice(0, dot);
      if (known.get(parent) === "nested") return { ...info, nestedIn: parent };
    }
    return info;
  };

  return {
    lookup(field) {
      if (!cache.has(field)) cache.set(field, resolve(field));
      return cache.get(field);
    },
    closest(field) {
      return closestName(field, names);
    },
  };
}
