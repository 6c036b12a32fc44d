// Field checks against a schema: type errors (EqlSemanticError with line, column and width) and warnings for
// fields the schema does not know, with the closest known name.
import { describe, expect, it } from "vitest";
import { compileQuery, EqlSemanticError } from "../../src/eql/index.js";
import { createFieldSchema } from "../../src/eql/fieldSchema.js";
import { checkFieldTypes, type FieldWarning, type TypedSchema } from "../../src/eql/typeCheck.js";

const schema: TypedSchema = {
  ...createFieldSchema(
    {
      "@timestamp": "date",
      "event.category": "keyword",
      "event.action": "keyword",
      "process.pid": "long",
      "process.args_count": "long",
      "process.name": "keyword",
      "process.executable": "keyword",
      "process.command_line": "wildcard",
      "process.command_line.text": "match_only_text",
      "process.interactive": "boolean",
      "process.script": "text",
      "process.entity_id": "keyword",
      "process.parent.entity_id": "keyword",
      "process.start": "date",
      "file.size": "long",
      "file.entropy": "double",
      "source.ip": "ip",
      "source.geo.location": "geo_point",
      "file.sections": "nested",
      "file.sections.name": "keyword",
      "file.imports": "flattened",
      labels: "object",
    },
    { labels: "keyword" },
  ),
  label: "TEST",
  unknownReason: "not in TEST",
};

function check(query: string): FieldWarning[] {
  return checkFieldTypes(compileQuery(query).ast, schema);
}

function typeError(query: string): EqlSemanticError {
  try {
    check(query);
  } catch (err) {
    expect(err).toBeInstanceOf(EqlSemanticError);
    return err as EqlSemanticError;
  }
  throw new Error(`expected a type error for ${query}`);
}

function expectError(query: string, reason: string, column: number, width: number, line = 1): void {
  const err = typeError(query);
  expect(err.reason).toBe(reason);
  expect([err.line, err.column, err.width]).toEqual([line, column, width]);
}

describe("comparisons Elasticsearch rejects for the field's type", () => {
  it("':' on a numeric field (its verifier: first argument of [:] must be [string])", () => {
    expectError('process where process.pid : "x"', "':' needs a string field, but 'process.pid' is long in TEST; compare with == instead", 15, 11);
    expectError('process where process.interactive : "true"', "':' needs a string field, but 'process.interactive' is boolean in TEST; compare with == true or == false", 15, 19);
  });

  it("== / != / < with a literal the field's type cannot read (the term or range query fails)", () => {
    expectError('process where process.pid == "x"', "\"x\" is not a number, but 'process.pid' is long in TEST (Elasticsearch rejects the comparison)", 30, 3);
    expectError('process where "x" != process.pid', "\"x\" is not a number, but 'process.pid' is long in TEST (Elasticsearch rejects the comparison)", 15, 3);
    expectError('process where file.size > "big"', "\"big\" is not a number, but 'file.size' is long in TEST (Elasticsearch rejects the comparison)", 27, 5);
    expectError("process where process.interactive == 1", "1 is not true or false, but 'process.interactive' is boolean in TEST (Elasticsearch rejects the comparison)", 38, 1);
    expectError('network where source.ip == "gateway"', "\"gateway\" is not an IP address or CIDR block, but 'source.ip' is ip in TEST (Elasticsearch rejects the comparison)", 28, 9);
    expectError('network where source.ip > "10.0.0.0/8"', "\"10.0.0.0/8\" is not an IP address, but 'source.ip' is ip in TEST (Elasticsearch rejects the comparison)", 27, 12);
    expectError('process where process.start < "yesterday"', "\"yesterday\" is not a date (ISO 8601 or epoch milliseconds), but 'process.start' is date in TEST (Elasticsearch rejects the comparison)", 31, 11);
    expectError('process where @timestamp > "2024-13-01"', "\"2024-13-01\" is not a date (ISO 8601 or epoch milliseconds), but '@timestamp' is date in TEST (Elasticsearch rejects the comparison)", 28, 12);
  });

  it("literals the type reads are fine, null always is, and a keyword field takes any literal", () => {
    expect(check('process where process.pid == "42" and process.pid != 7 and process.pid != null')).toEqual([]);
    expect(check("process where file.entropy > 7.5 and file.size >= 1")).toEqual([]);
    expect(check('process where process.interactive == true and process.interactive != "false"')).toEqual([]);
    expect(check('network where source.ip == "10.0.0.1" or source.ip == "10.0.0.0/8" or source.ip == "::1"')).toEqual([]);
    expect(check('process where @timestamp > "2024-02-03T04:05:06.789Z" and process.start < 1700000000000 and @timestamp < "2024-02"')).toEqual([]);
    expect(check("process where process.name == 1 and process.name != true")).toEqual([]);
  });

  it("wildcards and regular expressions on a numeric field", () => {
    expectError('process where process.pid like "1*"', "'like' needs a string field, but 'process.pid' is long in TEST", 15, 11);
    expectError('process where process.pid like~ "1*"', "'like~' needs a string field, but 'process.pid' is long in TEST", 15, 11);
    expectError('process where process.pid regex "1.*"', "'regex' needs a string field, but 'process.pid' is long in TEST", 15, 11);
    expectError('process where source.ip : "10.*"', "':' needs a string field, but 'source.ip' is ip in TEST; compare with == instead", 15, 9);
  });

  it("'in' values of another type family than the field (Elasticsearch: must be [long], found ... [keyword])", () => {
    expectError('process where process.pid in (1, "2")', "'in' list value \"2\" is a string, but 'process.pid' is long in TEST: every value must be of the field's type", 34, 3);
    expectError("process where process.name in (\"a\", 2)", "'in' list value 2 is a number, but 'process.name' is keyword in TEST: every value must be of the field's type", 37, 1);
    expect(check('process where process.pid in (1, 2.5, null) and process.name in~ ("a", null)')).toEqual([]);
  });

  it("cidrMatch on a field that is not an ip", () => {
    expectError('network where cidrMatch(process.name, "10.0.0.0/8")', "argument 1 of 'cidrMatch' must be an ip, but 'process.name' is keyword in TEST", 25, 12);
    expect(check('network where cidrMatch(source.ip, "10.0.0.0/8", "192.168.0.0/16")')).toEqual([]);
  });

  it("string functions on non-strings and arithmetic on non-numbers", () => {
    expectError('process where startsWith(process.pid, "1")', "argument 1 of 'startsWith' must be a string, but 'process.pid' is long in TEST", 26, 11);
    expectError("process where length(source.ip) > 3", "argument 1 of 'length' must be a string, but 'source.ip' is ip in TEST", 22, 9);
    expectError("process where substring(process.name, process.name) == \"a\"", "argument 2 of 'substring' must be a number, but 'process.name' is keyword in TEST", 39, 12);
    expectError("process where process.name + 1 == 2", "'+' needs a number, but 'process.name' is keyword in TEST", 15, 12);
    expectError("process where -process.name == 2", "unary '-' needs a number, but 'process.name' is keyword in TEST", 16, 12);
    expectError("process where add(process.interactive, 1) == 2", "argument 1 of 'add' must be a number, but 'process.interactive' is boolean in TEST", 19, 19);
    expect(check('process where process.pid + 1 == 2 and concat(process.pid, process.name) == "1a" and string(source.ip) == "x"')).toEqual([]);
  });

  it("a field as a condition must be boolean", () => {
    expectError("process where process.name", "a condition must be a boolean, but 'process.name' is keyword in TEST", 15, 12);
    expectError("process where not process.pid", "a condition must be a boolean, but 'process.pid' is long in TEST", 19, 11);
    expect(check("process where process.interactive and not process.interactive")).toEqual([]);
  });

  it("analysed text where an exact value is needed, pointing to the keyword field", () => {
    expectError('process where process.command_line.text == "a"', "a comparison needs an exact value, but 'process.command_line.text' is match_only_text in TEST (analysed text); use 'process.command_line'", 15, 25);
    expectError('process where process.script : "a*"', "':' needs an exact value, but 'process.script' is text in TEST (analysed text)", 15, 14);
  });

  it("types EQL cannot use, and fields under a nested field", () => {
    expectError('process where source.geo.location == "x"', "field 'source.geo.location' is of type geo_point in TEST, which EQL cannot use", 15, 19);
    expectError('file where file.sections.name == "text"', "field 'file.sections.name' is under the nested field 'file.sections' in TEST; EQL cannot search nested fields", 12, 18);
  });

  it("sequence join keys of incompatible types", () => {
    expectError(
      "sequence\n  [process where true] by process.pid\n  [process where true] by process.name",
      "join key 'process.name' (keyword) cannot be joined with 'process.pid' (long) of the first stage",
      27,
      12,
      3,
    );
    expect(check("sequence [process where true] by process.entity_id [process where true] by process.parent.entity_id")).toEqual([]);
    expect(check("sequence [process where true] by process.pid [process where true] by process.args_count")).toEqual([]);
  });

  it("errors inside sequence stages and until", () => {
    expectError('sequence [process where true] [process where process.pid : "1"]', "':' needs a string field, but 'process.pid' is long in TEST; compare with == instead", 46, 11);
    expectError('sequence [process where true] [process where true] until [process where process.pid == "x"]', "\"x\" is not a number, but 'process.pid' is long in TEST (Elasticsearch rejects the comparison)", 88, 3);
  });
});

describe("fields the schema does not know", () => {
  it("warn with the field's place and the closest known name", () => {
    const warnings = check('process where event.action == "exec" and\n  process.nmae == "security"');
    expect(warnings).toEqual([
      {
        field: "process.nmae",
        reason: "unknown field 'process.nmae': not in TEST; did you mean 'process.name'?",
        suggestion: "process.name",
        start: 43,
        end: 55,
      },
    ]);
  });

  it("warn once per name, in query order, without a suggestion when nothing is close", () => {
    const warnings = check('process where zzz.qqq == 1 and process.exeutable : "a" and zzz.qqq == 2');
    expect(warnings.map((w) => [w.field, w.suggestion, w.start])).toEqual([
      ["zzz.qqq", undefined, 14],
      ["process.exeutable", "process.executable", 31],
    ]);
    expect(warnings[0].reason).toBe("unknown field 'zzz.qqq': not in TEST");
  });

  it("are found everywhere: function arguments, in, join keys", () => {
    const warnings = check("sequence by host.nmae [process where length(process.agrs) > 1] by user.nmae [process where proces.pid in (1)] by user.nmae");
    expect(warnings.map((w) => w.field)).toEqual(["host.nmae", "process.agrs", "user.nmae", "proces.pid"]);
  });

  it("an optional field (?x) that the schema does not know is not warned about; a known one is type-checked", () => {
    expect(check("process where ?process.foo == 1")).toEqual([]);
    expectError('process where ?process.pid == "x"', "\"x\" is not a number, but 'process.pid' is long in TEST (Elasticsearch rejects the comparison)", 31, 3);
  });

  it("an object used as a value is a warning; free sub-fields of labels and of flattened fields are known", () => {
    expect(check("process where process == null").map((w) => w.reason)).toEqual(["field 'process' is an object in TEST, not a value; name one of its fields"]);
    expect(check('process where labels.env == "prod" and file.imports.name == "x"')).toEqual([]);
    expectError("process where labels.env in (1)", "'in' list value 1 is a number, but 'labels.env' is keyword in TEST: every value must be of the field's type", 30, 1);
  });
});

describe("join keys", () => {
  it("analysed text as a join key", () => {
    expectError("sequence by process.script [process where true] [process where true]", "a join key needs an exact value, but 'process.script' is text in TEST (analysed text)", 13, 14);
  });
});
