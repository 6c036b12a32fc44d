import { afterEach, describe, expect, it, vi } from "vitest";
import { parseCommandLine } from "../../src/cli/args.js";

describe("parseCommandLine", () => {
  const out = vi.spyOn(process.stdout, "write").mockImplementation(() => true);
  const err = vi.spyOn(process.stderr, "write").mockImplementation(() => true);
  afterEach(() => {
    out.mockClear();
    err.mockClear();
  });

  it("returns the values and positionals", () => {
    const parsed = parseCommandLine("x", "HELP", ["--json", "a", "--file", "f"], { json: { type: "boolean" }, file: { type: "string" } });
    expect(parsed).not.toBeTypeOf("number");
    if (typeof parsed === "number") return;
    expect(parsed.values).toEqual({ json: true, file: "f" });
    expect(parsed.positionals).toEqual(["a"]);
  });

  it("prints the help on stdout for -h and --help and says exit 0", () => {
    expect(parseCommandLine("x", "HELP TEXT", ["-h"], {})).toBe(0);
    expect(parseCommandLine("x", "HELP TEXT", ["--help"], {})).toBe(0);
    expect(out).toHaveBeenCalledWith("HELP TEXT\n");
  });

  it("names the command and the problem on stderr for an unknown option and says exit 2", () => {
    expect(parseCommandLine("alerts", "HELP", ["--frob"], { json: { type: "boolean" } })).toBe(2);
    expect(String(err.mock.calls[0][0])).toMatch(/^macsensor alerts: unknown option --frob\n/);
  });

  it("suggests the flag a typo was meant to be, by prefix or by edit distance", () => {
    const options = { rules: { type: "string" }, since: { type: "string" }, json: { type: "boolean" } } as const;
    expect(parseCommandLine("run", "HELP", ["--rule", "x"], options)).toBe(2);
    expect(parseCommandLine("run", "HELP", ["--sinse=2h"], options)).toBe(2);
    expect(parseCommandLine("run", "HELP", ["--zzzzzz"], options)).toBe(2);
    const lines = err.mock.calls.map((c) => String(c[0]).split("\n")[0]);
    expect(lines).toEqual([
      "macsensor run: unknown option --rule (did you mean --rules?)",
      "macsensor run: unknown option --sinse (did you mean --since?)",
      "macsensor run: unknown option --zzzzzz",
    ]);
  });

  it("says which flag lacks a value, and which takes none", () => {
    const options = { rules: { type: "string" }, json: { type: "boolean" } } as const;
    expect(parseCommandLine("replay", "HELP", ["--rules"], options)).toBe(2);
    expect(parseCommandLine("status", "HELP", ["--json=yes"], options)).toBe(2);
    const lines = err.mock.calls.map((c) => String(c[0]).split("\n")[0]);
    expect(lines).toEqual(["macsensor replay: --rules needs a value", "macsensor status: --json takes no value"]);
  });
});
