/**
 * What a query's fields are, as an index mapping says: the Elasticsearch mapping type of each field name. The
 * type checker (typeCheck.ts) reads it; the EQL engine itself never needs it. The schema can come from ECS
 * (src/ecs/ecsSchema.ts) or from a mapping file.
 */

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

/**
 * The candidate nearest to `name` by edit distance (insertions, deletions, substitutions and swaps of two
 * neighbours each cost 1), if it is at most a quarter of the name's length, between 2 and 4 (typos are a few
 * edits; a name further away is a different field, not a misspelling); ties go to the first candidate.
 */
export function closestName(name: string, candidates: readonly string[]): string | undefined {
  const limit = Math.max(2, Math.min(4, Math.floor(name.length / 4)));
  let best: string | undefined;
  let bestDistance = limit + 1;
  const rows = new EditRows(name.length + limit + 2);
  for (const candidate of candidates) {
    if (Math.abs(candidate.length - name.length) >= bestDistance) continue;
    const d = rows.distance(name, candidate, bestDistance);
    if (d < bestDistance) {
      best = candidate;
      bestDistance = d;
    }
  }
  return best;
}

/** Optimal-string-alignment distance between a and b, or `cap` when it is `cap` or more. */
export function editDistance(a: string, b: string, cap = Math.max(a.length, b.length) + 1): number {
  return new EditRows(b.length + 1).distance(a, b, cap);
}

const FAR = 1 << 20;

/** Three reusable rows of the edit-distance table, computed only within `cap` of the diagonal. */
class EditRows {
  private prev2: Int32Array;
  private prev: Int32Array;
  private row: Int32Array;

  constructor(size: number) {
    this.prev2 = new Int32Array(size);
    this.prev = new Int32Array(size);
    this.row = new Int32Array(size);
  }

  distance(a: string, b: string, cap: number): number {
    const m = a.length;
    const n = b.length;
    if (Math.abs(m - n) >= cap) return cap;
    if (this.row.length < n + 1) {
      this.prev2 = new Int32Array(n + 1);
      this.prev = new Int32Array(n + 1);
      this.row = new Int32Array(n + 1);
    }
    let { prev2, prev, row } = this;
    for (let j = 0; j <= n; j++) prev[j] = j < cap ? j : FAR;
    for (let i = 1; i <= m; i++) {
      const lo = Math.max(1, i - cap);
      const hi = Math.min(n, i + cap);
      row[0] = i < cap ? i : FAR;
      if (lo > 1) row[lo - 1] = FAR;
      let rowMin = row[0];
      for (let j = lo; j <= hi; j++) {
        const cost = a.charCodeAt(i - 1) === b.charCodeAt(j - 1) ? 0 : 1;
        let d = Math.min(prev[j] + 1, row[j - 1] + 1, prev[j - 1] + cost);
        if (i > 1 && j > 1 && a.charCodeAt(i - 1) === b.charCodeAt(j - 2) && a.charCodeAt(i - 2) === b.charCodeAt(j - 1)) {
          d = Math.min(d, prev2[j - 2] + 1);
        }
        row[j] = d;
        if (d < rowMin) rowMin = d;
      }
      if (hi < n) row[hi + 1] = FAR;
      if (rowMin >= cap) return cap;
      [prev2, prev, row] = [prev, row, prev2];
    }
    this.prev2 = prev2;
    this.prev = prev;
    this.row = row;
    return Math.min(prev[n], cap);
  }
}
