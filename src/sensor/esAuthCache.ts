/**
 * Whether Endpoint Security may cache our ALLOW answers to AUTH_EXEC (es_respond_auth_result cache=true).
 *
 * ES keys a cached exec answer by the (calling process's executable, executed file) pair and drops it when
 * either file is modified; a cached exec produces no AUTH message at all. So an ALLOW may be cached only when
 * no loaded block rule could deny a later exec of the same file for any other reason — that is, when every block
 * rule that can see an exec is a plain event query (no sequence, no pipe: those carry state from other events)
 * that reads only the fields below:
 *
 * - the executed file's identity: `process.executable`, `process.name` (a hard link or rename can give the same
 *   file another name, and ES keeps the entry; but a name-only rule is already bypassed by running the file
 *   under another name, so caching adds no way around it), `process.code_signature.{exists, valid, trusted,
 *   signing_id, team_id}` and `process.hash.*` (properties of the file's contents: modifying it drops the entry);
 * - facts that are the same for every exec on this host: `event.{category, type, action, kind, module,
 *   dataset}`, `host.os.{type, family, platform, name, version}`.
 *
 * Anything else keeps cache=false: arguments and command line, environment, working directory, user and group,
 * parent and ancestry, entity ids and pids, `process.code_signature.flags` (it carries per-process bits such as
 * CS_DEBUGGED), timestamps, and any field we do not list.
 */
import type { Expr, Query } from "../eql/ast.js";
import { blocksExecs } from "./esPrefilter.js";

const IDENTITY_FIELDS: ReadonlySet<string> = new Set([
  "process.executable",
  "process.name",
  "process.code_signature.exists",
  "process.code_signature.valid",
  "process.code_signature.trusted",
  "process.code_signature.signing_id",
  "process.code_signature.team_id",
  "event.category",
  "event.type",
  "event.action",
  "event.kind",
  "event.module",
  "event.dataset",
  "host.os.type",
  "host.os.family",
  "host.os.platform",
  "host.os.name",
  "host.os.version",
]);

/** Fields under these prefixes are identity fields too. */
const IDENTITY_PREFIXES: readonly string[] = ["process.hash."];

/** Whether a field is part of the executable's identity (or constant on this host): see the module comment. */
export function isIdentityField(field: string): boolean {
  return IDENTITY_FIELDS.has(field) || IDENTITY_PREFIXES.some((p) => field.startsWith(p));
}

/** Whether ES may cache the ALLOWs given while these block rules are loaded. */
export function execAllowsCacheable(blockRules: readonly Query[]): boolean {
  return blockRules.filter(blocksExecs).every(readsOnlyIdentity);
}

function readsOnlyIdentity(query: Query): boolean {
  if (query.body.kind !== "event" || query.pipes.length > 0) return false;
  return fieldsOf(query.body.condition).every(isIdentityField);
}

function fieldsOf(expr: Expr, out: string[] = []): string[] {
  switch (expr.kind) {
    case "field":
      out.push(expr.path.join("."));
      break;
    case "literal":
      break;
    case "not":
    case "negate":
      fieldsOf(expr.operand, out);
      break;
    case "and":
    case "or":
      for (const e of expr.operands) fieldsOf(e, out);
      break;
    case "comparison":
    case "arithmetic":
      fieldsOf(expr.left, out);
      fieldsOf(expr.right, out);
      break;
    case "pattern":
      fieldsOf(expr.subject, out);
      for (const e of expr.patterns) fieldsOf(e, out);
      break;
    case "in":
      fieldsOf(expr.subject, out);
      for (const e of expr.values) fieldsOf(e, out);
      break;
    case "call":
      for (const e of expr.args) fieldsOf(e, out);
      break;
  }
  return out;
}
