/**
 * Field checks against a schema (ECS or a mapping file), after the schema-free checks of checker.ts. They follow
 * what Elasticsearch does with the same query over an index with that mapping:
 *
 * - Its EQL verifier rejects `:`, `like`, `regex` and the string functions on a field that is not an exact
 *   string (keyword family), arithmetic on a non-numeric field, cidrMatch on a non-ip field, a text field where an
 *   exact value is needed, an `in` list whose values are of another type family than the field (string, numeric
 *   and date families; every other type only with itself), a non-boolean field used as a condition, sequence join
 *   keys whose types are incompatible between stages, geo_point and other unusable types, and fields under a
 *   `nested` field.
 * - `==`, `!=`, `<`, ... between a field and a literal pass its verifier but become a term or range query, which
 *   fails when the literal cannot be read as the field's type (a long field and "x", an ip field and "host", a
 *   boolean field and 1): the search, and so the rule, errs. Such a comparison is an error here.
 *
 * Each problem is an EqlSemanticError at the offending node (the first one found). A field the schema does not
 * know is not an error (Elasticsearch reports an unknown column, but our events carry fields ECS lacks): it is a
 * warning with the closest known name. Optional fields (`?field`) that the schema does not know are not warned
 * about: the query says they may be absent.
 */
import { parseCidr, parseIp } from "./cidr.js";
import type { Expr, FieldRef, Literal, Query, SequenceQuery, SequenceStage } from "./ast.js";
import { EqlSemanticError } from "./errors.js";
import type { FieldInfo, FieldSchema, TypeFamily } from "./fieldSchema.js";
import { lookupFunction, type ArgKind } from "./functions.js";
import { numericString } from "./values.js";

export interface TypedSchema extends FieldSchema {
  /** How messages name the schema: "ECS", "mapping.json". */
  readonly label: string;
  /** Why an unknown field is unknown, after "field 'x' is ": "neither in ECS nor produced by macsensor". */
  readonly unknownReason: string;
}

/** A field the schema does not know (or an object used as a value), at its place in the query. */
export interface FieldWarning {
  field: string;
  reason: string;
  /** The closest known field name, when one is close. */
  suggestion?: string;
  start: number;
  end: number;
}

const ISO_DATE = /^(\d{4})(?:-(\d{2})(?:-(\d{2})(?:T(\d{2})(?::(\d{2})(?::(\d{2})(?:[.,]\d{1,9})?)?)?(?:Z|[+-]\d{2}(?::?\d{2})?)?)?)?)?$/;

/** Whether Elasticsearch's default date format (strict_date_optional_time||epoch_millis) reads `s`. */
function isDateText(s: string): boolean {
  if (/^-?\d+$/.test(s)) return true;
  const m = ISO_DATE.exec(s);
  if (!m) return false;
  const [month, day, hour, minute, second] = [m[2], m[3], m[4], m[5], m[6]].map((v) => (v === undefined ? undefined : Number(v)));
  return (
    (month === undefined || (month >= 1 && month <= 12)) &&
    (day === undefined || (day >= 1 && day <= 31)) &&
    (hour === undefined || hour <= 23) &&
    (minute === undefined || minute <= 59) &&
    (second === undefined || second <= 59)
  );
}

function quote(v: Literal): string {
  return typeof v.value === "string" ? JSON.stringify(v.value) : String(v.value);
}

function fieldName(f: FieldRef): string {
  return f.path.join(".");
}

/** A literal's type family (to Elasticsearch a string literal is a keyword). */
function literalFamily(lit: Literal): TypeFamily | "null" {
  switch (lit.type) {
    case "string":
      return "string";
    case "integer":
    case "decimal":
      return "numeric";
    case "boolean":
      return "boolean";
    case "null":
      return "null";
  }
}

/** The field type family a function argument of each kind needs (cidrMatch's first argument: "ip"). */
const ARG_FAMILY: Readonly<Record<ArgKind, TypeFamily | "any">> = { string: "string", number: "numeric", integer: "numeric", boolean: "boolean", any: "any" };

/** Elasticsearch's areCompatible: the same type, or both strings, both numbers or both dates. */
function compatibleFamilies(a: FieldInfo, b: FieldInfo): boolean {
  if (a.type === b.type) return true;
  const same = a.family === b.family;
  return same && (a.family === "string" || a.family === "text" || a.family === "numeric" || a.family === "date");
}

class TypeChecker {
  readonly warnings: FieldWarning[] = [];
  private readonly warned = new Set<string>();

  constructor(
    private readonly source: string,
    private readonly schema: TypedSchema,
  ) {}

  fail(reason: string, at: { start: number; end: number }): never {
    throw new EqlSemanticError(reason, this.source, at.start, Math.max(1, at.end - at.start));
  }

  /** The field's schema entry; warns (once per name) when there is none. Undefined: nothing to check. */
  field(f: FieldRef): FieldInfo | undefined {
    const name = fieldName(f);
    const info = this.schema.lookup(name);
    if (info?.nestedIn !== undefined) {
      this.fail(`field '${name}' is under the nested field '${info.nestedIn}' in ${this.schema.label}; EQL cannot search nested fields`, f);
    }
    if (info?.family === "unsupported") {
      this.fail(`field '${name}' is of type ${info.type} in ${this.schema.label}, which EQL cannot use`, f);
    }
    if (info?.family === "object") {
      this.warn(name, `field '${name}' is an object in ${this.schema.label}, not a value; name one of its fields`, f);
      return undefined;
    }
    if (!info && !f.optional) {
      const suggestion = this.schema.closest(name);
      this.warn(name, `unknown field '${name}': ${this.schema.unknownReason}${suggestion ? `; did you mean '${suggestion}'?` : ""}`, f, suggestion);
    }
    return info;
  }

  warn(name: string, reason: string, at: { start: number; end: number }, suggestion?: string): void {
    if (this.warned.has(name)) return;
    this.warned.add(name);
    const w: FieldWarning = { field: name, reason, start: at.start, end: at.end };
    if (suggestion !== undefined) w.suggestion = suggestion;
    this.warnings.push(w);
  }

  is(f: FieldRef, info: FieldInfo): string {
    return `'${fieldName(f)}' is ${info.type} in ${this.schema.label}`;
  }

  noExactValue(f: FieldRef, info: FieldInfo, what: string): never {
    const keyword = fieldName(f).replace(/\.[^.]+$/, "");
    const hint = keyword !== fieldName(f) && this.schema.lookup(keyword)?.family === "string" ? `; use '${keyword}'` : "";
    this.fail(`${what} needs an exact value, but ${this.is(f, info)} (analysed text)${hint}`, f);
  }

  condition(e: Expr): void {
    if (e.kind === "field") {
      const info = this.field(e);
      if (info && info.family !== "boolean") this.fail(`a condition must be a boolean, but ${this.is(e, info)}`, e);
      return;
    }
    this.expr(e);
  }

  /** An expression used as a value (`what` it is for, in messages): only its inner fields are checked. */
  value(e: Expr, what = "a value"): void {
    if (e.kind === "field") {
      const info = this.field(e);
      if (info?.family === "text") this.noExactValue(e, info, what);
      return;
    }
    this.expr(e);
  }

  expr(e: Expr): void {
    switch (e.kind) {
      case "literal":
        return;
      case "field":
        return this.value(e);
      case "not":
        return this.condition(e.operand);
      case "and":
      case "or":
        for (const o of e.operands) this.condition(o);
        return;
      case "comparison": {
        const field = e.left.kind === "field" ? e.left : e.right.kind === "field" ? e.right : undefined;
        const other = field === e.left ? e.right : e.left;
        if (field && other.kind === "literal") {
          const info = this.field(field);
          if (info) this.comparedLiteral(field, info, other, e.op === "==" || e.op === "!=");
          return;
        }
        this.value(e.left);
        this.value(e.right);
        return;
      }
      case "pattern": {
        const op = e.op === ":" ? "':'" : `'${e.op}${e.caseInsensitive ? "~" : ""}'`;
        if (e.subject.kind === "field") {
          const info = this.field(e.subject);
          if (info?.family === "text") this.noExactValue(e.subject, info, op);
          if (info && info.family !== "string") {
            const hint = e.op === ":" && info.family !== "boolean" ? "; compare with == instead" : e.op === ":" ? "; compare with == true or == false" : "";
            this.fail(`${op} needs a string field, but ${this.is(e.subject, info)}${hint}`, e.subject);
          }
        } else {
          this.value(e.subject);
        }
        return;
      }
      case "in": {
        if (e.subject.kind !== "field") return this.value(e.subject);
        const info = this.field(e.subject);
        if (!info) return;
        if (info.family === "text") this.noExactValue(e.subject, info, "'in'");
        for (const v of e.values) {
          if (v.kind !== "literal") continue;
          const family = literalFamily(v);
          if (family === "null" || family === info.family) continue;
          this.fail(`'in' list value ${quote(v)} is a ${family === "numeric" ? "number" : family}, but ${this.is(e.subject, info)}: every value must be of the field's type`, v);
        }
        return;
      }
      case "arithmetic":
        this.numeric(e.left, `'${e.op}'`);
        this.numeric(e.right, `'${e.op}'`);
        return;
      case "negate":
        return this.numeric(e.operand, "unary '-'");
      case "call":
        return this.call(e.name, e.args);
    }
  }

  numeric(e: Expr, what: string): void {
    if (e.kind !== "field") return this.expr(e);
    const info = this.field(e);
    if (info && info.family !== "numeric") this.fail(`${what} needs a number, but ${this.is(e, info)}`, e);
  }

  call(name: string, args: readonly Expr[]): void {
    const spec = lookupFunction(name);
    args.forEach((arg, i) => {
      if (arg.kind !== "field") return this.expr(arg);
      const info = this.field(arg);
      if (!info || !spec) return;
      const what = `argument ${i + 1} of '${spec.name}'`;
      if (info.family === "text") this.noExactValue(arg, info, what);
      const wanted = spec.name === "cidrMatch" && i === 0 ? "ip" : ARG_FAMILY[spec.argKind(i)];
      if (wanted !== "any" && info.family !== wanted) {
        const article = wanted === "ip" ? "an ip" : wanted === "numeric" ? "a number" : `a ${wanted}`;
        this.fail(`${what} must be ${article}, but ${this.is(arg, info)}`, arg);
      }
    });
  }

  /** `field <op> literal`: the literal must be readable as the field's type (Elasticsearch's term/range query). */
  comparedLiteral(f: FieldRef, info: FieldInfo, lit: Literal, equality: boolean): void {
    if (lit.type === "null") return;
    const value = lit.value;
    let fits: boolean;
    let expected: string;
    switch (info.family) {
      case "string":
        return;
      case "text":
        return this.noExactValue(f, info, "a comparison");
      case "numeric":
        fits = typeof value === "number" || (typeof value === "string" && numericString(value) !== undefined);
        expected = "a number";
        break;
      case "boolean":
        fits = typeof value === "boolean" || value === "true" || value === "false";
        expected = "true or false";
        break;
      case "date":
        fits = (typeof value === "number" && Number.isInteger(value)) || (typeof value === "string" && isDateText(value));
        expected = "a date (ISO 8601 or epoch milliseconds)";
        break;
      case "ip":
        fits = typeof value === "string" && (parseIp(value) !== null || (equality && value.includes("/") && parseCidr(value) !== null));
        expected = equality ? "an IP address or CIDR block" : "an IP address";
        break;
      default:
        return;
    }
    if (!fits) this.fail(`${quote(lit)} is not ${expected}, but ${this.is(f, info)} (Elasticsearch rejects the comparison)`, lit);
  }

  sequence(q: SequenceQuery): void {
    for (const k of q.joinKeys) this.value(k, "a join key");
    const stages: SequenceStage[] = q.until ? [...q.stages, q.until] : q.stages;
    const first: (FieldInfo | undefined)[] = [];
    const firstKey: Expr[] = [];
    stages.forEach((s, n) => {
      this.condition(s.query.condition);
      s.joinKeys.forEach((k, i) => {
        this.value(k, "a join key");
        const info = k.kind === "field" ? this.schema.lookup(fieldName(k)) : undefined;
        if (n === 0) {
          first[i] = info;
          firstKey[i] = k;
          return;
        }
        const base = first[i];
        if (info && base && !compatibleFamilies(base, info) && k.kind === "field" && firstKey[i].kind === "field") {
          this.fail(
            `join key '${fieldName(k)}' (${info.type}) cannot be joined with '${fieldName(firstKey[i] as FieldRef)}' (${base.type}) of the first stage`,
            k,
          );
        }
      });
    });
  }
}

/**
 * Checks a query (already through checkQuery) against a schema. Throws EqlSemanticError at the first type
 * error; returns the warnings (unknown fields, objects used as values), at most one per field name.
 */
export function checkFieldTypes(query: Query, schema: TypedSchema): FieldWarning[] {
  const checker = new TypeChecker(query.source, schema);
  if (query.body.kind === "event") checker.condition(query.body.condition);
  else checker.sequence(query.body);
  return checker.warnings;
}
