/**
 * EQL parser (Elasticsearch dialect): tokens → AST (ast.ts). Recursive descent with the precedence of
 * Elasticsearch's EqlBase.g4:
 *
 *   or < and < not < comparison (not chainable) < + - < * / % < unary - < primary with one predicate
 *
 * A predicate (`in`, `not in`, `:`, `like`, `regex` and their `~` forms) binds to the primary right before it,
 * so `a + b : "x"` is `a + (b : "x")` as in Elasticsearch. Everything malformed is an EqlSyntaxError; nothing
 * else escapes (deep nesting included).
 */
import type {
  ArithmeticOperator,
  ComparisonOperator,
  Duration,
  DurationUnit,
  EventQuery,
  Expr,
  FieldRef,
  Literal,
  Pipe,
  Query,
  SequenceQuery,
  SequenceStage,
} from "./ast.js";
import { EqlSyntaxError } from "./errors.js";
import { tokenize } from "./lexer.js";
import { KEYWORDS, type Token } from "./tokens.js";

/** The documented EQL functions, by lowercase name → canonical spelling. */
const FUNCTION_NAMES: ReadonlyMap<string, string> = new Map(
  [
    "add",
    "between",
    "cidrMatch",
    "concat",
    "divide",
    "endsWith",
    "indexOf",
    "length",
    "modulo",
    "multiply",
    "number",
    "startsWith",
    "string",
    "stringContains",
    "substring",
    "subtract",
  ].map((name) => [name.toLowerCase(), name]),
);

/** Canonical spelling of a known function name (any case), or the name as written when unknown. */
export function canonicalFunctionName(name: string): string {
  return FUNCTION_NAMES.get(name.toLowerCase()) ?? name;
}

const COMPARISON_OPERATORS: ReadonlySet<string> = new Set(["==", "!=", "<", "<=", ">", ">="]);

const DURATION_MILLIS: Readonly<Record<DurationUnit, number>> = {
  ms: 1,
  s: 1000,
  m: 60_000,
  h: 3_600_000,
  d: 86_400_000,
};

const UNSUPPORTED_PIPES: ReadonlySet<string> = new Set(["count", "filter", "sort", "unique", "unique_count", "sample"]);

/** Deepest nesting of expressions accepted; deeper input gets an error instead of a stack overflow. */
export const MAX_NESTING = 200;

/** Most repetitions `with runs=N` accepts (Elasticsearch's limit). */
export const MAX_RUNS = 100;

/** Parses a whole EQL query (event query or sequence, then pipes). Throws only EqlSyntaxError. */
export function parseQuery(source: string): Query {
  const parser = new Parser(source);
  return parser.query();
}

/** Parses a lone EQL expression, e.g. `process.name : "bash"`. Throws only EqlSyntaxError. */
export function parseExpression(source: string): Expr {
  const parser = new Parser(source);
  return parser.standaloneExpression();
}

function describe(token: Token, source: string): string {
  if (token.kind === "eof") return "the end of the query";
  const text = source.slice(token.start, token.end);
  const shown = text.length > 24 ? `${text.slice(0, 21)}...` : text;
  return `'${shown.replace(/\n/g, "\\n")}'`;
}

class Parser {
  private readonly tokens: Token[];
  private index = 0;
  private depth = 0;
  /** End offset of the last token consumed. */
  private lastEnd = 0;

  constructor(private readonly source: string) {
    this.tokens = tokenize(source);
  }

  // ---- token helpers ----

  private peek(ahead = 0): Token {
    return this.tokens[Math.min(this.index + ahead, this.tokens.length - 1)];
  }

  private advance(): Token {
    const token = this.tokens[this.index];
    if (token.kind !== "eof") this.index++;
    this.lastEnd = token.end;
    return token;
  }

  private isSymbol(value: string, token = this.peek()): boolean {
    return token.kind === "symbol" && token.value === value;
  }

  private isKeyword(value: string, token = this.peek()): boolean {
    return token.kind === "keyword" && token.value === value;
  }

  private fail(reason: string, token: Token): never {
    const width = Math.max(1, token.end - token.start);
    throw new EqlSyntaxError(reason, this.source, token.start, width);
  }

  /** `expected <what>, found <token>`, plus a hint when a keyword was written in the wrong case. */
  private unexpected(what: string, token = this.peek()): never {
    let hint = "";
    if (token.kind === "identifier" && KEYWORDS.has(token.value.toLowerCase())) {
      hint = ` (keywords are lowercase: write '${token.value.toLowerCase()}')`;
    } else if (this.isSymbol("=", token)) {
      hint = " ('=' only appears in 'with maxspan=...' and 'with runs=...'; compare with '==')";
    }
    this.fail(`expected ${what}, found ${describe(token, this.source)}${hint}`, token);
  }

  private expectSymbol(value: string, what: string): Token {
    if (!this.isSymbol(value)) this.unexpected(what);
    return this.advance();
  }

  private expectKeyword(value: string, what: string): Token {
    if (!this.isKeyword(value)) this.unexpected(what);
    return this.advance();
  }

  private enter(token: Token): void {
    if (++this.depth > MAX_NESTING) {
      this.fail(`expression nested too deeply (more than ${MAX_NESTING} levels)`, token);
    }
  }

  private leave(): void {
    this.depth--;
  }

  // ---- statements ----

  query(): Query {
    const first = this.peek();
    let body: EventQuery | SequenceQuery;
    if (this.isKeyword("sequence")) body = this.sequence();
    else if (this.isKeyword("join")) this.fail("join queries are not supported (Elasticsearch does not run them either)", first);
    else if (this.isKeyword("sample")) this.fail("sample queries are not supported", first);
    else if (this.isSymbol("[") || this.isSymbol("![")) {
      this.fail("a bracketed stage belongs to a sequence: start the query with 'sequence'", first);
    } else body = this.eventFilter();
    const pipes: Pipe[] = [];
    while (this.isSymbol("|")) pipes.push(this.pipe());
    if (this.peek().kind !== "eof") {
      let what = "'and', 'or', '|' or the end of the query";
      if (pipes.length > 0) what = "'|' or the end of the query";
      else if (body.kind === "sequence") {
        what = body.until ? "'|' or the end of the query" : "another stage, 'until', '|' or the end of the query";
      }
      this.unexpected(what);
    }
    return { body, pipes, source: this.source, start: first.start, end: this.lastEnd };
  }

  standaloneExpression(): Expr {
    const expr = this.expression();
    if (this.peek().kind !== "eof") this.unexpected("an operator or the end of the expression");
    return expr;
  }

  /** `<category> where <condition>`. */
  private eventFilter(): EventQuery {
    const first = this.peek();
    let category: string | null;
    if (this.isKeyword("any")) category = null;
    else if (first.kind === "identifier" || first.kind === "string") category = first.value;
    else if (first.kind === "quotedIdentifier") {
      this.fail("an event category cannot be a backtick-quoted name: write it as a string, e.g. \"my category\"", first);
    } else if (first.kind === "eof") {
      this.unexpected("an event category (a name, a string or 'any') followed by 'where'");
    } else this.unexpected("an event category (a name, a string or 'any')");
    this.advance();
    if (!this.isKeyword("where")) {
      const named = category === null ? "'any'" : `'${category}'`;
      this.unexpected(`'where' after the event category ${named}`);
    }
    this.advance();
    if (this.peek().kind === "eof" || this.isSymbol("]") || this.isSymbol("|")) this.unexpected("a condition after 'where'");
    const condition = this.expression();
    return { kind: "event", category, condition, start: first.start, end: this.lastEnd };
  }

  private sequence(): SequenceQuery {
    const start = this.advance().start;
    let joinKeys: Expr[] = [];
    let maxspan: Duration | null = null;
    if (this.isKeyword("by")) joinKeys = this.joinKeys();
    if (this.isKeyword("with")) {
      this.advance();
      if (this.peek().kind === "identifier" && this.peek().value === "runs") {
        this.fail("'with runs=N' belongs after a stage's ']', not after 'sequence'", this.peek());
      }
      this.expectKeyword("maxspan", "'maxspan' after 'with'");
      this.expectSymbol("=", "'=' after 'maxspan'");
      maxspan = this.duration();
      if (this.isKeyword("by")) {
        this.fail("write the sequence's 'by' keys before 'with maxspan', not after", this.peek());
      }
    }
    const stages: SequenceStage[] = [];
    while (this.isSymbol("[") || this.isSymbol("![")) stages.push(this.stage(false));
    if (stages.length === 0) this.unexpected("a sequence stage '[...]'");
    let until: SequenceStage | null = null;
    if (this.isKeyword("until")) {
      this.advance();
      if (this.isSymbol("![")) this.fail("the 'until' stage cannot be a missing-event stage '![...]'", this.peek());
      if (!this.isSymbol("[")) this.unexpected("'[' to open the 'until' stage");
      until = this.stage(true);
    }
    // Elasticsearch counts events, not brackets: `sequence [a] with runs=3` is a valid three-event sequence.
    const events = stages.reduce((n, s) => n + s.runs, 0);
    if (events < 2) {
      this.fail(`a sequence needs at least 2 stages (counting 'with runs'), found ${events}`, this.tokenAt(stages[0].start));
    }
    if (stages.every((s) => s.missing)) {
      this.fail("a sequence needs at least one stage that is not a missing-event stage '![...]'", this.tokenAt(stages[0].start));
    }
    this.checkKeyCounts(stages, until);
    return { kind: "sequence", joinKeys, maxspan, stages, until, start, end: this.lastEnd };
  }

  private tokenAt(offset: number): Token {
    return this.tokens.find((t) => t.start === offset) ?? this.peek();
  }

  /** Every stage must have as many `by` keys as the first (Elasticsearch rejects the query otherwise). */
  private checkKeyCounts(stages: SequenceStage[], until: SequenceStage | null): void {
    const expected = stages[0].joinKeys.length;
    for (const stage of until ? [...stages, until] : stages) {
      const found = stage.joinKeys.length;
      if (found !== expected) {
        const at = found > 0 ? stage.joinKeys[0] : stage;
        this.fail(
          `every stage needs the same number of 'by' keys: the first stage has ${expected}, this one has ${found}`,
          this.tokenAt(at.start),
        );
      }
    }
  }

  private stage(isUntil: boolean): SequenceStage {
    const open = this.advance();
    const missing = open.value === "![";
    const closer = "']' to close the sequence stage";
    if (this.isSymbol("]")) this.unexpected("an event query inside the stage, e.g. [process where true]");
    const query = this.eventFilter();
    if (!this.isSymbol("]")) {
      const what = this.isSymbol("|") ? "']' to close the sequence stage (pipes go after the whole query)" : closer;
      this.unexpected(what);
    }
    this.advance();
    let joinKeys: Expr[] = [];
    if (this.isKeyword("by")) joinKeys = this.joinKeys();
    let runs = 1;
    if (this.isKeyword("with")) {
      const withToken = this.advance();
      if (this.isKeyword("maxspan")) {
        this.fail("'with maxspan=...' belongs right after 'sequence' (or its 'by' keys), not after a stage", this.peek());
      }
      const name = this.peek();
      if (!(name.kind === "identifier" && name.value === "runs")) this.unexpected("'runs' after 'with'");
      if (isUntil) this.fail("the 'until' stage cannot repeat: remove 'with runs=...'", withToken);
      this.advance();
      this.expectSymbol("=", "'=' after 'runs'");
      const count = this.peek();
      if (count.kind !== "integer") this.unexpected(`a whole number of runs (1 to ${MAX_RUNS})`);
      this.advance();
      runs = Number(count.value);
      if (runs < 1 || runs > MAX_RUNS) this.fail(`runs must be between 1 and ${MAX_RUNS}, found ${count.value}`, count);
    }
    return { query, joinKeys, runs, missing, start: open.start, end: this.lastEnd };
  }

  private joinKeys(): Expr[] {
    this.advance();
    const keys = [this.expression()];
    while (this.isSymbol(",")) {
      this.advance();
      keys.push(this.expression());
    }
    return keys;
  }

  private duration(): Duration {
    const number = this.peek();
    if (number.kind === "decimal") this.fail(`maxspan must be a whole number, found ${number.value}`, number);
    if (number.kind !== "integer") this.unexpected("a time span after 'maxspan=', e.g. 30s");
    this.advance();
    const value = Number(number.value);
    if (value <= 0) this.fail(`maxspan must be greater than 0, found ${number.value}`, number);
    const unitToken = this.peek();
    if (unitToken.kind !== "identifier") {
      this.fail(`maxspan=${number.value} needs a time unit: ms, s, m, h or d (e.g. ${number.value}s)`, number);
    }
    if (!Object.hasOwn(DURATION_MILLIS, unitToken.value)) {
      this.fail(`unknown time unit '${unitToken.value}': use ms, s, m, h or d`, unitToken);
    }
    this.advance();
    const unit = unitToken.value as DurationUnit;
    const millis = value * DURATION_MILLIS[unit];
    if (!Number.isSafeInteger(millis)) this.fail(`maxspan ${number.value}${unit} is too large`, number);
    return { value, unit, millis, start: number.start, end: this.lastEnd };
  }

  private pipe(): Pipe {
    const bar = this.advance();
    const name = this.peek();
    if (name.kind !== "identifier" && name.kind !== "keyword") this.unexpected("a pipe name after '|' (head or tail)");
    if (name.value !== "head" && name.value !== "tail") {
      if (UNSUPPORTED_PIPES.has(name.value)) {
        this.fail(`the '${name.value}' pipe is not supported: only 'head' and 'tail' are`, name);
      }
      this.fail(`unknown pipe '${name.value}': only 'head' and 'tail' are supported`, name);
    }
    this.advance();
    const kind = name.value;
    const count = this.peek();
    if (count.kind !== "integer") {
      if (this.isSymbol("-")) this.fail(`'${kind}' needs a count of 0 or more, not a negative number`, count);
      this.unexpected(`a whole number after '${kind}'`);
    }
    this.advance();
    const value = Number(count.value);
    if (!Number.isSafeInteger(value)) this.fail(`'${kind}' count ${count.value} is too large`, count);
    if (this.isSymbol(",")) this.fail(`'${kind}' takes exactly one number`, this.peek());
    return { kind, count: value, start: bar.start, end: this.lastEnd };
  }

  // ---- expressions ----

  /** Every nested construct (parentheses, arguments, `in` lists) comes through here, so depth is counted here. */
  private expression(): Expr {
    this.enter(this.peek());
    const expr = this.or();
    this.leave();
    return expr;
  }

  private or(): Expr {
    const start = this.peek().start;
    const first = this.and();
    if (!this.isKeyword("or")) return first;
    const operands = flatten("or", [first]);
    while (this.isKeyword("or")) {
      this.advance();
      operands.push(...flatten("or", [this.and()]));
    }
    return { kind: "or", operands, start, end: this.lastEnd };
  }

  private and(): Expr {
    const start = this.peek().start;
    const first = this.not();
    if (!this.isKeyword("and")) return first;
    const operands = flatten("and", [first]);
    while (this.isKeyword("and")) {
      this.advance();
      operands.push(...flatten("and", [this.not()]));
    }
    return { kind: "and", operands, start, end: this.lastEnd };
  }

  private not(): Expr {
    const token = this.peek();
    if (this.isKeyword("not")) {
      this.enter(token);
      this.advance();
      const operand = this.not();
      this.leave();
      return { kind: "not", operand, start: token.start, end: this.lastEnd };
    }
    if (token.kind === "identifier" && this.isKeyword("of", this.peek(1))) {
      this.fail(`process relationships ('${token.value} of [...]') are not supported`, token);
    }
    return this.comparison();
  }

  private comparison(): Expr {
    const start = this.peek().start;
    const left = this.additive();
    const opToken = this.peek();
    if (opToken.kind !== "symbol" || !COMPARISON_OPERATORS.has(opToken.value)) {
      if (this.isSymbol("=")) this.fail("'=' is not a comparison: use '==' to compare", opToken);
      return left;
    }
    this.advance();
    const right = this.additive();
    const next = this.peek();
    if (next.kind === "symbol" && (COMPARISON_OPERATORS.has(next.value) || next.value === "=")) {
      this.fail(`comparisons cannot be chained: join them with 'and', e.g. a < b and b < c`, next);
    }
    return { kind: "comparison", op: opToken.value as ComparisonOperator, left, right, start, end: this.lastEnd };
  }

  private additive(): Expr {
    const start = this.peek().start;
    let left = this.multiplicative();
    while (this.isSymbol("+") || this.isSymbol("-")) {
      const op = this.advance().value as ArithmeticOperator;
      const right = this.multiplicative();
      left = { kind: "arithmetic", op, left, right, start, end: this.lastEnd };
    }
    return left;
  }

  private multiplicative(): Expr {
    const start = this.peek().start;
    let left = this.unary();
    while (this.isSymbol("*") || this.isSymbol("/") || this.isSymbol("%")) {
      const op = this.advance().value as ArithmeticOperator;
      const right = this.unary();
      left = { kind: "arithmetic", op, left, right, start, end: this.lastEnd };
    }
    return left;
  }

  private unary(): Expr {
    const token = this.peek();
    if (this.isSymbol("-") || this.isSymbol("+")) {
      this.enter(token);
      this.advance();
      const operand = this.unary();
      this.leave();
      if (token.value === "+") return operand;
      return { kind: "negate", operand, start: token.start, end: this.lastEnd };
    }
    return this.predicate();
  }

  /** A primary and at most one predicate after it. */
  private predicate(): Expr {
    const start = this.peek().start;
    const subject = this.primary();
    const token = this.peek();
    if (this.isKeyword("not")) {
      const after = this.peek(1);
      if (!this.isKeyword("in", after) && !this.isKeyword("in~", after)) {
        this.fail("after a value, 'not' must be followed by 'in' or 'in~'; to negate a condition write 'not' in front of it", token);
      }
      this.advance();
      const inSet = this.inSet(subject, start);
      return { kind: "not", operand: inSet, start, end: this.lastEnd };
    }
    if (this.isKeyword("in") || this.isKeyword("in~")) return this.inSet(subject, start);
    if (this.isSymbol(":")) return this.pattern(subject, start, ":", false);
    if (this.isKeyword("like") || this.isKeyword("like~")) return this.pattern(subject, start, "like", token.value === "like~");
    if (this.isKeyword("regex") || this.isKeyword("regex~")) return this.pattern(subject, start, "regex", token.value === "regex~");
    return subject;
  }

  private inSet(subject: Expr, start: number): Expr {
    const op = this.advance();
    this.expectSymbol("(", `'(' after '${op.value}', e.g. ${op.value} ("a", "b")`);
    if (this.isSymbol(")")) this.unexpected(`at least one value in '${op.value} (...)'`);
    const values = [this.expression()];
    while (this.isSymbol(",")) {
      this.advance();
      values.push(this.expression());
    }
    this.expectSymbol(")", `',' or ')' to close the '${op.value}' list`);
    return { kind: "in", caseInsensitive: op.value === "in~", subject, values, start, end: this.lastEnd };
  }

  private pattern(subject: Expr, start: number, op: ":" | "like" | "regex", insensitive: boolean): Expr {
    const opToken = this.advance();
    const written = opToken.value;
    const patterns: Expr[] = [];
    if (this.isSymbol("(")) {
      this.advance();
      patterns.push(this.constant(written));
      while (this.isSymbol(",")) {
        this.advance();
        patterns.push(this.constant(written));
      }
      this.expectSymbol(")", `',' or ')' to close the '${written}' list`);
    } else {
      patterns.push(this.constant(written));
    }
    return {
      kind: "pattern",
      op,
      caseInsensitive: op === ":" ? true : insensitive,
      subject,
      patterns,
      start,
      end: this.lastEnd,
    };
  }

  /** The right side of `:`, `like` and `regex`: a literal (Elasticsearch's grammar allows nothing else). */
  private constant(operator: string): Literal {
    const token = this.peek();
    const literal = this.literal(token);
    if (literal === null) {
      this.unexpected(`a literal after '${operator}' (a string such as "*.exe", or a list ("a", "b"))`);
    }
    return literal;
  }

  private literal(token: Token): Literal | null {
    const span = { start: token.start, end: token.end };
    switch (token.kind) {
      case "string":
        this.advance();
        return { kind: "literal", type: "string", value: token.value, ...span };
      case "integer": {
        const value = Number(token.value);
        if (!Number.isSafeInteger(value)) {
          this.fail(`integer ${token.value} is too large (the largest is ${Number.MAX_SAFE_INTEGER})`, token);
        }
        this.advance();
        return { kind: "literal", type: "integer", value, ...span };
      }
      case "decimal": {
        const value = Number(token.value);
        if (!Number.isFinite(value)) this.fail(`number ${token.value} is too large`, token);
        this.advance();
        return { kind: "literal", type: "decimal", value, ...span };
      }
      case "keyword":
        if (token.value === "true" || token.value === "false") {
          this.advance();
          return { kind: "literal", type: "boolean", value: token.value === "true", ...span };
        }
        if (token.value === "null") {
          this.advance();
          return { kind: "literal", type: "null", value: null, ...span };
        }
        return null;
      default:
        return null;
    }
  }

  private primary(): Expr {
    const token = this.peek();
    const literal = this.literal(token);
    if (literal !== null) return literal;
    if (this.isSymbol("(")) {
      this.advance();
      if (this.isSymbol(")")) this.unexpected("an expression inside '( )'");
      const inner = this.expression();
      this.expectSymbol(")", "')' to close '('");
      return inner;
    }
    if (token.kind === "tildeIdentifier") return this.call(token);
    if (token.kind === "identifier" && this.isSymbol("(", this.peek(1))) return this.call(token);
    if (token.kind === "identifier" || token.kind === "quotedIdentifier" || this.isSymbol("?")) return this.field();
    if (token.kind === "keyword" && !["and", "or", "not", "in", "in~", "like", "like~", "regex", "regex~", "where", "by", "with", "until"].includes(token.value)) {
      this.fail(`'${token.value}' is a reserved word: quote a field of that name in backticks, e.g. \`${token.value}\``, token);
    }
    this.unexpected("a value (a field, a literal, a function call or '(')");
  }

  private call(nameToken: Token): Expr {
    this.advance();
    this.expectSymbol("(", `'(' after the function name '${nameToken.value}~'`);
    const args: Expr[] = [];
    if (!this.isSymbol(")")) {
      args.push(this.expression());
      while (this.isSymbol(",")) {
        this.advance();
        args.push(this.expression());
      }
    }
    this.expectSymbol(")", "',' or ')' to close the function's arguments");
    return {
      kind: "call",
      name: canonicalFunctionName(nameToken.value),
      caseInsensitive: nameToken.kind === "tildeIdentifier",
      args,
      start: nameToken.start,
      end: this.lastEnd,
    };
  }

  /** `name`, `a.b.c`, `` `odd name` ``, `@timestamp`, `?optional.field`. */
  private field(): FieldRef {
    const start = this.peek().start;
    let optional = false;
    if (this.isSymbol("?")) {
      optional = true;
      this.advance();
      const next = this.peek();
      if (next.kind !== "identifier" && next.kind !== "quotedIdentifier") this.unexpected("a field name after '?'");
    }
    const path = [this.advance().value];
    while (true) {
      if (this.isSymbol(".")) {
        this.advance();
        const segment = this.peek();
        // After a dot a reserved word can only be a name, so `event.any` needs no backticks.
        if (segment.kind !== "identifier" && segment.kind !== "quotedIdentifier" && segment.kind !== "keyword") {
          this.unexpected("a field name after '.'");
        }
        this.advance();
        path.push(segment.value);
      } else if (this.peek().kind === "decimal" && this.peek().value.startsWith(".") && this.peek().start === this.lastEnd) {
        this.fail("a field name part cannot start with a digit: quote it in backticks, e.g. a.`1st`", this.peek());
      } else if (this.isSymbol("[") && this.peek(1).kind === "integer") {
        this.fail("array indexes such as [0] are not supported", this.peek());
      } else {
        break;
      }
    }
    if (this.isSymbol("(")) {
      this.fail(`'${path.join(".")}' is not a function name: function names have no dots, '?' or backticks`, this.peek());
    }
    return { kind: "field", path, optional, start, end: this.lastEnd };
  }
}

function flatten(kind: "and" | "or", operands: Expr[]): Expr[] {
  const out: Expr[] = [];
  for (const operand of operands) {
    if (operand.kind === kind) out.push(...operand.operands);
    else out.push(operand);
  }
  return out;
}
