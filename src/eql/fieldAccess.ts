/**
 * Field lookup by dotted path. An event may nest objects (`{"process": {"name": "x"}}`), flatten keys
 * (`{"process.name": "x"}`) or mix both at any level; arrays of objects on the way fan out, as Elasticsearch
 * flattens them into one multi-valued field. The result is the raw JSON value, or undefined when absent.
 */
export type FieldGetter = (event: Record<string, unknown>) => unknown;

function own(obj: Record<string, unknown>, key: string): unknown {
  const v = obj[key];
  if (v === undefined) return undefined;
  if (typeof v === "function" || (key === "__proto__" && !Object.hasOwn(obj, key))) return undefined;
  return v;
}

/** keys[i][j - i]: path segments i..j joined with dots, the flattened key a lookup tries (made once per path). */
type JoinedKeys = readonly (readonly string[])[];

function joinedKeys(path: readonly string[]): JoinedKeys {
  return path.map((_, i) => path.slice(i).map((__, k) => path.slice(i, i + k + 1).join(".")));
}

function lookup(node: unknown, path: readonly string[], keys: JoinedKeys, i: number): unknown {
  if (i === path.length) return node;
  if (node === null || typeof node !== "object") return undefined;
  if (Array.isArray(node)) {
    const found: unknown[] = [];
    for (const element of node) {
      const v = lookup(element, path, keys, i);
      if (v === undefined) continue;
      if (Array.isArray(v)) found.push(...v);
      else found.push(v);
    }
    return found.length === 0 ? undefined : found;
  }
  const obj = node as Record<string, unknown>;
  const tried = keys[i];
  for (let j = i; j < path.length; j++) {
    const v = own(obj, tried[j - i]);
    if (v !== undefined) {
      const r = lookup(v, path, keys, j + 1);
      if (r !== undefined) return r;
    }
  }
  return undefined;
}

/** A getter specialised for one path; the common nested case takes no loop and no allocation. */
export function compileFieldGetter(path: readonly string[]): FieldGetter {
  const segments = [...path];
  const keys = joinedKeys(segments);
  if (segments.length === 1) {
    const [k0] = segments;
    return (event) => own(event, k0);
  }
  if (segments.length === 2) {
    const [k0, k1] = segments;
    return (event) => {
      const a = event[k0];
      if (a !== null && typeof a === "object" && !Array.isArray(a)) {
        const v = (a as Record<string, unknown>)[k1];
        if (v !== undefined && typeof v !== "function") return v;
      }
      return lookup(event, segments, keys, 0);
    };
  }
  if (segments.length === 3) {
    const [k0, k1, k2] = segments;
    return (event) => {
      const a = event[k0];
      if (a !== null && typeof a === "object" && !Array.isArray(a)) {
        const b = (a as Record<string, unknown>)[k1];
        if (b !== null && typeof b === "object" && !Array.isArray(b)) {
          const v = (b as Record<string, unknown>)[k2];
          if (v !== undefined && typeof v !== "function") return v;
        }
      }
      return lookup(event, segments, keys, 0);
    };
  }
  return (event) => lookup(event, segments, keys, 0);
}

/** One-off lookup (tests, the CLI's ordering). */
export function getField(event: Record<string, unknown>, path: string | readonly string[]): unknown {
  const segments = typeof path === "string" ? path.split(".") : path;
  return lookup(event, segments, joinedKeys(segments), 0);
}
