import { describe, expect, it } from "vitest";
import { positionAt } from "../../src/errors.js";
import { scanToml } from "../../src/toml/tomlLayout.js";

const locateTomlKeys = (text: string): ReadonlyMap<string, number> => scanToml(text).offsets;

function where(text: string, key: string): string {
  const offset = locateTomlKeys(text).get(key);
  if (offset === undefined) return "missing";
  const { line, column } = positionAt(text, offset);
  return `${line}:${column}`;
}

describe("locateTomlKeys", () => {
  const text = [
    `title = """`, //                               1
    `fake = "not a key"`, //                        2 (inside a multi-line string)
    `"""`, //                                       3
    `[alerts] # comment`, //                        4
    `  max_files = 3`, //                           5
    `[ "actions" ]`, //                             6
    `"a.b" = "block"`, //                           7
    `'lit' = 'kill' # "x" = 1`, //                  8
    `[rules]`, //                                   9
    `paths = [`, //                                 10
    `  "/a", # first`, //                           11
    `  '/b',`, //                                   12
    `]`, //                                         13
    `inline = { x = 1, y = { z = "}" }, w = [1, 2] }`, // 14
    `[[things]]`, //                                15
    `name = "t"`, //                                16
    `dotted.key.here = true`, //                    17
  ].join("\n");

  it("finds keys under tables, quoted keys, array elements and inline tables", () => {
    expect(where(text, "title")).toBe("1:1");
    expect(where(text, "fake")).toBe("missing");
    expect(where(text, "alerts")).toBe("4:1");
    expect(where(text, "alerts.max_files")).toBe("5:3");
    expect(where(text, "actions.a.b")).toBe("7:1");
    expect(where(text, "actions.lit")).toBe("8:1");
    expect(where(text, "actions.x")).toBe("missing");
    expect(where(text, "rules.paths")).toBe("10:1");
    expect(where(text, "rules.paths[0]")).toBe("11:3");
    expect(where(text, "rules.paths[1]")).toBe("12:3");
    expect(where(text, "rules.inline.x")).toBe("14:12");
    expect(where(text, "rules.inline.y.z")).toBe("14:25");
    expect(where(text, "rules.inline.w[1]")).toBe("14:44");
    expect(where(text, "things.name")).toBe("16:1");
    expect(where(text, "things.dotted.key.here")).toBe("17:1");
  });

  it("never throws on odd text", () => {
    for (const odd of ["[", "= 1", "a = [", 'a = "unterminated', "a = { b = ", "[[x", "'''", "a.b. = 1"]) {
      expect(() => locateTomlKeys(odd)).not.toThrow();
    }
  });
});
