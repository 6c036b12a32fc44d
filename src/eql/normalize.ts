/**
 * AST rewrites done before compiling: `-<number literal>` is a literal (the parser keeps unary minus as an
 * operator), so `x > -1` is a field-vs-literal leaf like `x > 1`, as in Elasticsearch.
 */
import type { Expr } from "./ast.js";

export function normalizeExpr(e: Expr): Expr {
  switch (e.kind) {
    case "negate": {
      const operand = normalizeExpr(e.operand);
      if (operand.kind === "literal" && typeof operand.value === "number") {
        return { ...operand, value: -operand.value, start: e.start, end: e.end };
      }
      return { ...e, operand };
    }
    case "not":
      return { ...e, operand: normalizeExpr(e.operand) };
    case "and":
    case "or":
      return { ...e, operands: e.operands.map(normalizeExpr) };
    case "comparison":
    case "arithmetic":
      return { ...e, left: normalizeExpr(e.left), right: normalizeExpr(e.right) };
    case "pattern":
      return { ...e, subject: normalizeExpr(e.subject), patterns: e.patterns.map(normalizeExpr) };
    case "in":
      return { ...e, subject: normalizeExpr(e.subject), values: e.values.map(normalizeExpr) };
    case "call":
      return { ...e, args: e.args.map(normalizeExpr) };
    default:
      return e;
  }
}
