import { SourceError } from "../errors.js";

export interface RuleErrorDetails {
  /** The rule file's path as given. */
  file: string;
  /** The TOML key the problem is about, dotted (`rule.risk_score`, `rule.threat[0].tactic.id`). */
  field?: string;
  /** Offset in the file where the problem is; absent when no place in the file can be named. */
  offset?: number;
  /** How many characters to underline. */
  width?: number;
  /** The rule's id and name, when they could be read before the problem. */
  ruleId?: string;
  name?: string;
  cause?: unknown;
}

/**
 * A rule file that cannot be loaded. The message reads `file:line:column: reason` followed by the offending line
 * with a caret, like a compiler's; without a known place it is `file: reason`.
 */
export class RuleError extends SourceError {
  override name = "RuleError";
  readonly file: string;
  readonly field?: string;
  readonly hasPosition: boolean;
  readonly ruleId?: string;
  readonly ruleName?: string;

  constructor(reason: string, text: string, details: RuleErrorDetails) {
    super(reason, text, details.offset ?? 0, details.width ?? 1, { cause: details.cause });
    this.file = details.file;
    this.field = details.field;
    this.hasPosition = details.offset !== undefined;
    this.ruleId = details.ruleId;
    this.ruleName = details.name;
    this.message = this.hasPosition
      ? `${this.file}:${this.line}:${this.column}: ${reason}\n${this.codeblock}`
      : `${this.file}: ${reason}`;
  }

  /** One line: `file:line:column: reason` (no codeblock), for tables and JSON. */
  get summary(): string {
    return this.hasPosition ? `${this.file}:${this.line}:${this.column}: ${this.reason}` : `${this.file}: ${this.reason}`;
  }
}

/**
 * A problem in a rule file that does not stop the rule from loading (a field that no known schema has): same
 * place and format as a RuleError, for `rules validate` and the logs.
 */
export class RuleWarning extends RuleError {
  override name = "RuleWarning";
  /** The field named in the rule's query that the warning is about. */
  readonly queryField?: string;
  /** The closest known field name, when one is close. */
  readonly suggestion?: string;

  constructor(reason: string, text: string, details: RuleErrorDetails & { queryField?: string; suggestion?: string }) {
    super(reason, text, details);
    this.queryField = details.queryField;
    this.suggestion = details.suggestion;
  }
}
