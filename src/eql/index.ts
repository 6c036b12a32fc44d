/** The EQL engine's public API: parse, check and compile Elasticsearch EQL queries, then match events. */
export type * from "./ast.js";
export type * from "./api.js";
