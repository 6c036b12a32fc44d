import { SourceError } from "../errors.js";

/** An error about a place in an EQL query: line, column and a caret excerpt come from SourceError. */
export class EqlError extends SourceError {
  override name = "EqlError";

  constructor(reason: string, source: string, offset: number, width = 1) {
    super(reason, source, offset, width);
  }
}

/** The query text is not valid EQL (raised by the lexer and parser only). */
export class EqlSyntaxError extends EqlError {
  override name = "EqlSyntaxError";
}

/** The query is well formed but means nothing valid (unknown function, wrong arity, bad regex, ...). */
export class EqlSemanticError extends EqlError {
  override name = "EqlSemanticError";
}
