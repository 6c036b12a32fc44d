/** The EQL engine's public API: parse, check and compile Elasticsearch EQL queries, then match events. */
export type * from "./ast.js";
export type * from "./api.js";
export { parseQuery } from "./parser.js";
export { EqlError, EqlSyntaxError, EqlSemanticError } from "./errors.js";
export { compileQuery, compileQuerySet, runQuery } from "./engine.js";
export type { QueryCost, QuerySet, QuerySetHit, QuerySetMatcher } from "./engine.js";
export { sortEvents, timestampMillis } from "./eventOrder.js";
