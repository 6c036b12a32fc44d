/**
 * AST → EQL text. The output parses back to the same tree (render is stable under parse → render), uses
 * parentheses only where precedence needs them, and quotes names and strings only where the lexer needs it.
 */
import type { EventQuery, Expr, FieldRef, Literal, Pipe, Query, SequenceQuery, SequenceStage } from "./ast.js";
import { KEYWORDS, PLAIN_IDENTIFIER } from "./tokens.js";

/** Binding strength, loosest first; a child weaker than its slot needs parentheses. */
const enum Level {
  Or = 1,
  And = 2,
  Not = 3,
  Comparison = 4,
  Additive = 5,
  Multiplicative = 6,
  Unary = 7,
  Predicate = 8,
  Primary = 9,
}

export function renderQuery(query: Query): string {
  const body = query.body.kind === "sequence" ? renderSequence(query.body) : renderEvent(query.body);
  return body + query.pipes.map(renderPipe).join("");
}

export function renderExpr(expr: Expr): string {
  return render(expr, 0);
}

function renderPipe(pipe: Pipe): string {
  return ` | ${pipe.kind} ${pipe.count}`;
}

function renderEvent(query: EventQuery): string {
  const category =
    query.category === null ? "any" : isPlainName(query.category) ? query.category : renderString(query.category);
  return `${category} where ${renderExpr(query.condition)}`;
}

function renderSequence(sequence: SequenceQuery): string {
  let head = "sequence";
  if (sequence.joinKeys.length > 0) head += ` by ${sequence.joinKeys.map(renderExpr).join(", ")}`;
  if (sequence.maxspan) head += ` with maxspan=${sequence.maxspan.value}${sequence.maxspan.unit}`;
  const lines = [head, ...sequence.stages.map((stage) => `  ${renderStage(stage)}`)];
  if (sequence.until) lines.push(`until ${renderStage(sequence.until)}`);
  return lines.join("\n");
}

function renderStage(stage: SequenceStage): string {
  let text = `${stage.missing ? "![" : "["}${renderEvent(stage.query)}]`;
  if (stage.joinKeys.length > 0) text += ` by ${stage.joinKeys.map(renderExpr).join(", ")}`;
  if (stage.runs !== 1) text += ` with runs=${stage.runs}`;
  return text;
}

function isPlainName(name: string): boolean {
  return PLAIN_IDENTIFIER.test(name) && !KEYWORDS.has(name);
}

function renderName(segment: string): string {
  return isPlainName(segment) ? segment : `\`${segment.replace(/`/g, "``")}\``;
}

function renderField(field: FieldRef): string {
  return (field.optional ? "?" : "") + field.path.map(renderName).join(".");
}

/** A double-quoted string; control characters become escapes so the text stays on one line. */
export function renderString(value: string): string {
  let out = '"';
  for (const ch of value) {
    const code = ch.codePointAt(0) ?? 0;
    if (ch === '"') out += '\\"';
    else if (ch === "\\") out += "\\\\";
    else if (ch === "\n") out += "\\n";
    else if (ch === "\r") out += "\\r";
    else if (ch === "\t") out += "\\t";
    else if (code < 0x20 || code === 0x7f || (code >= 0xd800 && code <= 0xdfff)) {
      out += `\\u{${code.toString(16).toUpperCase()}}`;
    } else out += ch;
  }
  return `${out}"`;
}

function renderLiteral(literal: Literal): string {
  switch (literal.type) {
    case "string":
      return renderString(String(literal.value));
    case "null":
      return "null";
    case "boolean":
      return literal.value ? "true" : "false";
    case "integer":
      return String(literal.value);
    case "decimal": {
      const text = String(literal.value);
      return /[.eE]/.test(text) ? text : `${text}.0`;
    }
  }
}

function levelOf(expr: Expr): Level {
  switch (expr.kind) {
    case "or":
      return Level.Or;
    case "and":
      return Level.And;
    case "not":
      return expr.operand.kind === "in" ? Level.Predicate : Level.Not;
    case "comparison":
      return Level.Comparison;
    case "arithmetic":
      return expr.op === "+" || expr.op === "-" ? Level.Additive : Level.Multiplicative;
    case "negate":
      return Level.Unary;
    case "pattern":
    case "in":
      return Level.Predicate;
    case "literal":
      // A negative number only comes from a hand-built tree; as text it would read back as a negation.
      return typeof expr.value === "number" && (expr.value < 0 || Object.is(expr.value, -0)) ? Level.Unary : Level.Primary;
    case "field":
    case "call":
      return Level.Primary;
  }
}

/** Renders `expr` for a slot that accepts `min` or stronger. */
function render(expr: Expr, min: number): string {
  const text = renderBare(expr);
  return levelOf(expr) < min ? `(${text})` : text;
}

function renderList(items: Expr[]): string {
  return items.map((item) => render(item, 0)).join(", ");
}

function renderBare(expr: Expr): string {
  switch (expr.kind) {
    case "literal":
      return renderLiteral(expr);
    case "field":
      return renderField(expr);
    case "call":
      return `${expr.name}${expr.caseInsensitive ? "~" : ""}(${renderList(expr.args)})`;
    case "or":
      return expr.operands.map((operand) => render(operand, Level.And)).join(" or ");
    case "and":
      return expr.operands.map((operand) => render(operand, Level.Not)).join(" and ");
    case "not":
      if (expr.operand.kind === "in") return renderInSet(expr.operand, true);
      return `not ${render(expr.operand, Level.Not)}`;
    case "comparison":
      return `${render(expr.left, Level.Additive)} ${expr.op} ${render(expr.right, Level.Additive)}`;
    case "arithmetic": {
      const level = levelOf(expr);
      return `${render(expr.left, level)} ${expr.op} ${render(expr.right, level + 1)}`;
    }
    case "negate": {
      // `- -x` keeps a space so that it never reads as one token.
      const operand = render(expr.operand, Level.Unary);
      return operand.startsWith("-") ? `- ${operand}` : `-${operand}`;
    }
    case "in":
      return renderInSet(expr, false);
    case "pattern": {
      const op = expr.op === ":" ? ":" : `${expr.op}${expr.caseInsensitive ? "~" : ""}`;
      const patterns = expr.patterns.length === 1 ? render(expr.patterns[0], Level.Primary) : `(${renderList(expr.patterns)})`;
      return `${render(expr.subject, Level.Primary)} ${op} ${patterns}`;
    }
  }
}

function renderInSet(expr: Extract<Expr, { kind: "in" }>, negated: boolean): string {
  const op = `${negated ? "not " : ""}in${expr.caseInsensitive ? "~" : ""}`;
  return `${render(expr.subject, Level.Primary)} ${op} (${renderList(expr.values)})`;
}
