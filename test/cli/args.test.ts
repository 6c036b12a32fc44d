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
    expect(String(err.mock.calls[0][0])).toMatch(/^macsensor alerts: Unknown option '--frob'/);
  });
});
