// The KERN_PROCARGS2 parser (native/common/procargs.cc) through the addon's parseProcArgs, on every platform:
// buffers laid out as XNU writes them, the synthetic no-read-procargs buffer, empty arguments, every truncation
// of valid buffers, absurd argc, missing terminators, non-UTF-8 bytes, and views into larger memory (the parser
// must never read past the view). Needs the built addon (npx node-gyp rebuild).
import { beforeAll, describe, expect, it } from "vitest";
import { loadNative } from "../../src/sensor/native.js";
import type { RawText } from "../../src/sensor/rawEvent.js";

interface Parsed {
  argc: number;
  execPath?: RawText;
  args: RawText[];
  argsTruncated?: true;
  env?: RawText[];
  problem?: string;
}
interface ProcArgsBinding {
  parseProcArgs(bytes: Uint8Array, options?: { env?: boolean }): Parsed;
  listProcesses?: unknown;
}

let binding: ProcArgsBinding;
beforeAll(() => {
  binding = loadNative() as unknown as ProcArgsBinding;
});

type Bytes = string | Uint8Array;
const bytesOf = (b: Bytes): Buffer => (typeof b === "string" ? Buffer.from(b, "utf8") : Buffer.from(b));

function int32(n: number): Buffer {
  const b = Buffer.alloc(4);
  b.writeInt32LE(n); // macOS (arm64, x86_64) and this Linux are little-endian: the addon reads native order
  return b;
}

/**
 * A buffer as XNU lays it out: argc, exec path + NUL, NULs up to the next 8-byte boundary of the string area
 * (which starts after argc), argv, envp, Apple's own strings, each NUL-terminated.
 */
function kernelBuffer(execPath: Bytes, args: Bytes[], env: Bytes[] = [], apple: Bytes[] = [], argc = args.length): Buffer {
  const path = Buffer.concat([bytesOf(execPath), Buffer.alloc(1)]);
  const padded = Buffer.concat([path, Buffer.alloc((8 - (path.length % 8)) % 8)]);
  const strings = [...args, ...env, ...apple].map((s) => Buffer.concat([bytesOf(s), Buffer.alloc(1)]));
  return Buffer.concat([int32(argc), padded, ...strings]);
}

/** Byte offset just past each argument's NUL in a kernelBuffer (where a cut leaves that argument complete). */
function argEnds(execPath: string, args: string[]): number[] {
  const pathLen = Buffer.byteLength(execPath) + 1;
  let pos = 4 + pathLen + ((8 - (pathLen % 8)) % 8);
  return args.map((a) => (pos += Buffer.byteLength(a) + 1));
}

const parse = (b: Uint8Array, env = false): Parsed => binding.parseProcArgs(b, { env });

describe("parseProcArgs: whole buffers", () => {
  it("reads exec path, argv and, when asked, the environment up to its end", () => {
    const b = kernelBuffer("/bin/zsh", ["-zsh", "-c", "echo hi"], ["PATH=/usr/bin:/bin", "HOME=/Users/ann"]);
    expect(parse(b)).toEqual({ argc: 3, execPath: "/bin/zsh", args: ["-zsh", "-c", "echo hi"] });
    expect(parse(b, true)).toEqual({
      argc: 3,
      execPath: "/bin/zsh",
      args: ["-zsh", "-c", "echo hi"],
      env: ["PATH=/usr/bin:/bin", "HOME=/Users/ann"],
    });
  });

  it("handles every padding length (exec paths of 1 to 17 bytes)", () => {
    for (let n = 1; n <= 17; n++) {
      const path = "/" + "x".repeat(n - 1);
      expect(parse(kernelBuffer(path, ["a", "b"])), `path length ${n}`).toEqual({ argc: 2, execPath: path, args: ["a", "b"] });
    }
  });

  it("environment stops at the first empty string and at a string cut before its NUL", () => {
    const b = Buffer.concat([kernelBuffer("/bin/ls", ["ls"], ["A=1", "", "B=2"]), Buffer.from("C=unterminated")]);
    expect(parse(b, true).env).toEqual(["A=1"]);
    const cut = Buffer.concat([kernelBuffer("/bin/ls", ["ls"], ["A=1"]), Buffer.from("B=2")]);
    expect(parse(cut, true).env).toEqual(["A=1"]);
    expect(parse(cut).env).toBeUndefined(); // not asked: not read
  });

  it("Apple's strings after the environment come back as environment strings (callers match names)", () => {
    const b = kernelBuffer("/bin/ls", ["ls"], ["A=1"], ["executable_path=/bin/ls", "ptr_munge="]);
    expect(parse(b, true).env).toEqual(["A=1", "executable_path=/bin/ls", "ptr_munge="]);
  });

  it("argc 0: no arguments, whole; the environment still follows", () => {
    expect(parse(kernelBuffer("/bin/ls", []))).toEqual({ argc: 0, execPath: "/bin/ls", args: [] });
    expect(parse(kernelBuffer("/usr/bin/env", [], ["X=1"]), true)).toEqual({ argc: 0, execPath: "/usr/bin/env", args: [], env: ["X=1"] });
  });

  it("the synthetic buffer of a no-read-procargs process (argc 1, path, one NUL, path) gives argv = [path]", () => {
    for (const path of ["/bin/ls", "/usr/libexec/x", "/System/Library/Foo.app/Contents/MacOS/Foo"]) {
      const b = Buffer.concat([int32(1), Buffer.from(`${path}\0\0${path}\0`)]);
      expect(parse(b), path).toEqual({ argc: 1, execPath: path, args: [path] });
    }
  });

  it("keeps empty arguments: argv[0] = '' is not swallowed as padding, nor is the environment taken for argv", () => {
    // "/bin/ls\0" is 8 bytes: no padding, so the NUL at the boundary is argv[0].
    expect(parse(kernelBuffer("/bin/ls", ["", "-l"], ["SECRET=1"]), true)).toEqual({
      argc: 2,
      execPath: "/bin/ls",
      args: ["", "-l"],
      env: ["SECRET=1"],
    });
    // "/usr/bin/env\0" is 13 bytes: 3 NULs of padding, then two empty arguments, then one more.
    expect(parse(kernelBuffer("/usr/bin/env", ["", "", "x"], ["A=1"]), true)).toEqual({
      argc: 3,
      execPath: "/usr/bin/env",
      args: ["", "", "x"],
      env: ["A=1"],
    });
    // Only empty arguments, then the environment.
    expect(parse(kernelBuffer("/usr/bin/env", ["", ""], ["A=1"]), true)).toEqual({
      argc: 2,
      execPath: "/usr/bin/env",
      args: ["", ""],
      env: ["A=1"],
    });
    // An empty argument in the middle and at the end.
    expect(parse(kernelBuffer("/bin/sh", ["sh", "", "-c", ""]))).toEqual({ argc: 4, execPath: "/bin/sh", args: ["sh", "", "-c", ""] });
  });

  it("an argv[0] equal to the exec path after real padding is not taken for the synthetic buffer", () => {
    // argc 1 but the layout has the kernel's padding: nothing to misread either way.
    expect(parse(kernelBuffer("/usr/bin/env", ["/usr/bin/env"]))).toEqual({ argc: 1, execPath: "/usr/bin/env", args: ["/usr/bin/env"] });
    // argc 2, argv[0] empty, argv[1] equal to the path: the synthetic shape needs argc 1, so '' is kept.
    expect(parse(kernelBuffer("/bin/ls", ["", "/bin/ls"]))).toEqual({ argc: 2, execPath: "/bin/ls", args: ["", "/bin/ls"] });
  });

  it("text that is not UTF-8 comes back as the exact bytes; valid multi-byte UTF-8 as a string", () => {
    const bad = Uint8Array.from([0x6c, 0x6f, 0x67, 0x69, 0x6e, 0xff, 0x2e, 0x6b, 0x63]);
    const badPath = Uint8Array.from([0x2f, 0x74, 0x6d, 0x70, 0x2f, 0xc3, 0x28]);
    const r = parse(kernelBuffer(badPath, ["security", "dump-keychain", bad, "日本語"], [Uint8Array.from([0x58, 0x3d, 0xfe])]), true);
    expect(r.execPath).toBeInstanceOf(Uint8Array);
    expect(Array.from(r.execPath as Uint8Array)).toEqual(Array.from(badPath));
    expect(r.args.slice(0, 2)).toEqual(["security", "dump-keychain"]);
    expect(r.args[2]).toBeInstanceOf(Uint8Array);
    expect(Array.from(r.args[2] as Uint8Array)).toEqual(Array.from(bad));
    expect(r.args[3]).toBe("日本語");
    expect(Array.from(r.env?.[0] as Uint8Array)).toEqual([0x58, 0x3d, 0xfe]);
    expect(r.argsTruncated).toBeUndefined();
  });
});

describe("parseProcArgs: damaged buffers", () => {
  it("zero to three bytes: no argc, nothing returned, a problem named", () => {
    expect(parse(new Uint8Array(0))).toEqual({ argc: 0, args: [], argsTruncated: true, problem: "empty buffer" });
    for (let n = 1; n < 4; n++) {
      expect(parse(new Uint8Array(n).fill(1))).toEqual({ argc: 0, args: [], argsTruncated: true, problem: "buffer shorter than argc" });
    }
  });

  it("truncated at every byte offset: never more than what is complete, exactly what is complete", () => {
    const cases: Array<[string, string[], string[]]> = [
      ["/bin/zsh", ["-zsh", "-c", "security dump-keychain -d"], ["PATH=/usr/bin", "HOME=/Users/ann"]],
      ["/usr/bin/env", ["env", "", "x=1", ""], ["A=1"]],
      ["/a", ["", "b"], []],
      ["/Applications/Some App.app/Contents/MacOS/Some App", ["Some App", "--flag"], ["X=é"]],
    ];
    for (const [path, args, env] of cases) {
      const whole = kernelBuffer(path, args, env);
      const ends = argEnds(path, args);
      const pathEnd = 4 + Buffer.byteLength(path) + 1;
      for (let cut = 0; cut <= whole.length; cut++) {
        const r = parse(whole.subarray(0, cut), true);
        const label = `${path} cut at ${cut}/${whole.length}`;
        const complete = ends.filter((e) => e <= cut).length;
        expect(r.argc, label).toBe(cut >= 4 ? args.length : 0);
        expect(r.execPath, label).toBe(cut >= pathEnd ? path : undefined);
        expect(r.args, label).toEqual(cut >= pathEnd ? args.slice(0, complete) : []);
        expect(r.argsTruncated, label).toBe(complete === args.length && cut >= pathEnd ? undefined : true);
        if (complete === args.length && cut >= pathEnd) {
          expect(r.problem, label).toBeUndefined();
          expect(env.slice(0, (r.env ?? []).length), label).toEqual(r.env);
        } else {
          expect(r.problem, label).toMatch(/buffer|argc/);
        }
      }
    }
  });

  it("a truncated view never reads the bytes beyond it, even when memory continues", () => {
    const whole = kernelBuffer("/bin/zsh", ["zsh", "-c", "secret-command"], ["A=1"]);
    const cut = argEnds("/bin/zsh", ["zsh", "-c", "secret-command"])[2]! - 3; // inside "secret-command"
    const view = new Uint8Array(whole.buffer, whole.byteOffset, cut);
    const r = parse(view, true);
    expect(r.args).toEqual(["zsh", "-c"]);
    expect(r.argsTruncated).toBe(true);
    // A view that starts inside a larger buffer: its own bytes only.
    const padded = Buffer.concat([Buffer.from("JUNKJUNK"), kernelBuffer("/bin/ls", ["ls"]), Buffer.from("MORE\0")]);
    const inner = padded.subarray(8, padded.length - 5);
    expect(parse(inner, true)).toEqual({ argc: 1, execPath: "/bin/ls", args: ["ls"], env: [] });
  });

  it("an exec path without its NUL: no path, no arguments", () => {
    const r = parse(Buffer.concat([int32(2), Buffer.from("/bin/ls")]));
    expect(r).toEqual({ argc: 2, args: [], argsTruncated: true, problem: "exec path not terminated (buffer cut)" });
  });

  it("a last argument without its NUL is left out, the ones before it kept", () => {
    const b = Buffer.concat([kernelBuffer("/bin/ls", ["ls", "-l"], [], [], 3), Buffer.from("/tmp")]);
    expect(parse(b)).toEqual({
      argc: 3,
      execPath: "/bin/ls",
      args: ["ls", "-l"],
      argsTruncated: true,
      problem: "argc is 3 but only 2 arguments are complete (buffer cut)",
    });
  });

  it("argc far larger than the buffer: the strings present, flagged, nothing invented", () => {
    for (const argc of [3, 1000, 0x7fffffff]) {
      const r = parse(kernelBuffer("/bin/ls", ["ls", "-l"], [], [], argc), true);
      expect(r.argc).toBe(argc);
      expect(r.args).toEqual(["ls", "-l"]);
      expect(r.argsTruncated).toBe(true);
      expect(r.env).toEqual([]);
      expect(r.problem).toBe(`argc is ${argc} but only 2 arguments are complete (buffer cut)`);
    }
  });

  it("argc beyond the strings present takes the environment as arguments only up to the buffer's end", () => {
    // The parser cannot know argc lies; it never reads past the end or invents strings.
    const r = parse(kernelBuffer("/bin/ls", ["ls"], ["A=1"], [], 5));
    expect(r.args).toEqual(["ls", "A=1"]);
    expect(r.argsTruncated).toBe(true);
  });

  it("negative argc: the exec path is kept, no arguments", () => {
    for (const argc of [-1, -0x80000000]) {
      expect(parse(kernelBuffer("/bin/ls", ["ls"], [], [], argc))).toEqual({
        argc,
        execPath: "/bin/ls",
        args: [],
        argsTruncated: true,
        problem: `negative argc ${argc}`,
      });
    }
  });

  it("a buffer of only NULs after the path: as many empty arguments as argc, and no more", () => {
    const b = Buffer.concat([int32(2), Buffer.from("/bin/ls\0"), Buffer.alloc(16)]);
    expect(parse(b, true)).toEqual({ argc: 2, execPath: "/bin/ls", args: ["", ""], env: [] });
    const short = Buffer.concat([int32(5), Buffer.from("/bin/ls\0"), Buffer.alloc(2)]);
    expect(parse(short).args).toEqual(["", ""]);
    expect(parse(short).argsTruncated).toBe(true);
  });

  it("random bytes (seeded) never crash and never return more arguments than argc or bytes allow", () => {
    let seed = 0x2545f491;
    const next = (): number => {
      seed ^= seed << 13;
      seed ^= seed >>> 17;
      seed ^= seed << 5;
      return seed >>> 0;
    };
    for (let i = 0; i < 3000; i++) {
      const len = next() % 96;
      const b = new Uint8Array(len);
      for (let k = 0; k < len; k++) b[k] = next() % 4 === 0 ? 0 : next() & 0xff;
      if (len >= 4 && i % 2 === 0) new DataView(b.buffer).setInt32(0, next() % 8, true); // small argc half the time
      const r = parse(b, true);
      expect(r.args.length).toBeLessThanOrEqual(Math.max(0, r.argc));
      expect(r.args.length).toBeLessThanOrEqual(len);
      if (r.argsTruncated) expect(r.problem).toBeTypeOf("string");
      else expect(r.args.length).toBe(r.argc);
    }
  });
});

describe("addon surface", () => {
  it("parseProcArgs refuses what is not a Uint8Array", () => {
    const p = binding.parseProcArgs as unknown as (v: unknown) => unknown;
    expect(() => p("text")).toThrow(TypeError);
    expect(() => p(new Uint16Array(4))).toThrow(/Uint8Array/);
    expect(() => p(undefined)).toThrow(TypeError);
  });

  it("listProcesses exists only in the macOS build (Linux seeds from /proc in TypeScript)", () => {
    expect(typeof binding.listProcesses).toBe(process.platform === "darwin" ? "function" : "undefined");
  });
});
