/**
 * The field schemas rule and query checks run against: ECS plus the fields macsensor and Elastic Defend add
 * (the default), or a mapping file for data that is not ECS.
 */
import { readFileSync } from "node:fs";
import { MacsensorError } from "../errors.js";
import { createFieldSchema } from "../eql/fieldSchema.js";
import type { TypedSchema } from "../eql/typeCheck.js";
import { ECS_FIELD_TYPES, ECS_OBJECT_TYPES, ECS_SCHEMA_VERSION } from "./ecsFieldTypes.generated.js";
import { DEFEND_FIELD_TYPES, MACSENSOR_FIELD_TYPES } from "./extensionFields.js";

export { ECS_SCHEMA_VERSION };

let ecs: TypedSchema | undefined;

/** ECS (from @elastic/ecs), macsensor's own fields and Defend's extension fields. Built once, on first use. */
export function ecsFieldSchema(): TypedSchema {
  ecs ??= {
    ...createFieldSchema({ ...ECS_FIELD_TYPES, ...DEFEND_FIELD_TYPES, ...MACSENSOR_FIELD_TYPES }, ECS_OBJECT_TYPES),
    label: "ECS",
    unknownReason: "neither in ECS nor produced by macsensor",
  };
  return ecs;
}

type Json = Record<string, unknown>;

function isObject(v: unknown): v is Json {
  return typeof v === "object" && v !== null && !Array.isArray(v);
}

/** Elasticsearch mapping `properties` → flat field types (objects recurse, multi-fields become name.sub). */
function flattenProperties(properties: Json, prefix: string, out: Record<string, string>, file: string): void {
  for (const [name, def] of Object.entries(properties)) {
    const path = prefix + name;
    if (!isObject(def)) throw new MacsensorError(`${file}: mapping of '${path}' must be an object, found ${JSON.stringify(def)}`);
    if (isObject(def.properties)) {
      if (typeof def.type === "string") out[path] = def.type;
      flattenProperties(def.properties, `${path}.`, out, file);
    } else if (typeof def.type === "string") {
      out[path] = def.type;
    } else {
      throw new MacsensorError(`${file}: mapping of '${path}' has neither "type" nor "properties"`);
    }
    if (isObject(def.fields)) flattenProperties(def.fields, `${path}.`, out, file);
  }
}

/**
 * A schema from a mapping file: either a flat JSON object of field names to types (`{"pid": "long"}`) or an
 * Elasticsearch mapping (`{"mappings": {"properties": ...}}` or `{"properties": ...}`, as GET _mapping prints
 * per index). Throws MacsensorError naming the file and the field on bad input.
 */
export function mappingFileSchema(file: string, text = readFileSync(file, "utf8")): TypedSchema {
  let doc: unknown;
  try {
    doc = JSON.parse(text);
  } catch (err) {
    throw new MacsensorError(`${file}: not valid JSON: ${(err as Error).message}`);
  }
  if (!isObject(doc)) throw new MacsensorError(`${file}: expected a JSON object of field names to types, or an Elasticsearch mapping`);
  const root = isObject(doc.mappings) ? doc.mappings : doc;
  const types: Record<string, string> = {};
  if (isObject(root.properties)) {
    flattenProperties(root.properties, "", types, file);
  } else {
    for (const [name, type] of Object.entries(doc)) {
      if (typeof type !== "string") throw new MacsensorError(`${file}: the type of '${name}' must be a string, found ${JSON.stringify(type)}`);
      types[name] = type;
    }
  }
  return { ...createFieldSchema(types), label: file, unknownReason: `not in ${file}` };
}
