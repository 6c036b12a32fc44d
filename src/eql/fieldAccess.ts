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

function lookup(node: unknown, path: readonly string[], i: number): unknown {
  if (i === path.length) return node;
  if (node === null || typeof node !== "object") return undefined;
  if (Array.isArray(node)) {
    const found: unknown[] = [];
    for (const element of node) {
      const v = lookup(element, path, i);
      if (v === undefined) continue;
      if (Array.isArray(v)) found.push(...v);
      else found.push(v);
    }
    return found.length === 0 ? undefined : found;
  }
  const obj = node as Record<string, unknown>;
  let key = path[i];
  for (let j = i; ; ) {
    const v = own(obj, key);
    if (v !== undefined) {
      const r = lookup(v, path, j + 1);
      if (r !== undefined) return r;
    }
    if (++j >= path.length) return undefined;
    key += "." + path[j];
  }
}

/** A getter specialised for one path; the common nested case takes no loop and no allocation. */
export function compileFieldGetter(path: readonly string[]): FieldGetter {
  const segments = [...path];
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
      return lookup(event, segments, 0);
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
      return lookup(event, segments, 0);
    };
  }
  return (event) => lookup(event, segments, 0);
}

/** One-off lookup (tests, the CLI's ordering). */
export function getField(event: Record<string, unknown>, path: string | readonly string[]): unknown {
  return lookup(event, typeof path === "string" ? path.split(".") : path, 0);
}
