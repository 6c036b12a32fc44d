// Reads what the link checks need from a (universal) 64-bit Mach-O file: each slice's CPU and file type, the
// dylibs it loads and, for every undefined external symbol, the library it is bound to (two-level namespace
// ordinal) or that it is looked up at load time (-undefined dynamic_lookup).

const FAT_MAGIC = 0xcafebabe;
const MH_MAGIC_64 = 0xfeedfacf;
const LC_SYMTAB = 0x2;
const LC_LOAD_DYLIB = 0xc;
const LC_LOAD_WEAK_DYLIB = 0x80000018;
const LC_REEXPORT_DYLIB = 0x8000001f;
const LC_LAZY_LOAD_DYLIB = 0x20;
const LC_LOAD_UPWARD_DYLIB = 0x80000023;
const DYLIB_COMMANDS = new Set([LC_LOAD_DYLIB, LC_LOAD_WEAK_DYLIB, LC_REEXPORT_DYLIB, LC_LAZY_LOAD_DYLIB, LC_LOAD_UPWARD_DYLIB]);
const N_EXT = 0x01;
const N_TYPE = 0x0e;
const N_UNDF = 0x0;
const SELF_LIBRARY_ORDINAL = 0x0;
const DYNAMIC_LOOKUP_ORDINAL = 0xfe;
const EXECUTABLE_ORDINAL = 0xff;

export const MH_BUNDLE = 8;
const CPU_NAMES = new Map<number, string>([
  [0x01000007, "x86_64"],
  [0x0100000c, "arm64"],
]);

/** Where an undefined symbol is resolved: an install name, or how dyld finds it when no library is named. */
export type SymbolSource = string | "dynamic-lookup" | "self" | "executable";

export interface MachOSlice {
  cpu: string;
  fileType: number;
  dylibs: string[];
  undefinedSymbols: { name: string; from: SymbolSource }[];
}

function cString(buf: Buffer, start: number, limit: number): string {
  const end = buf.indexOf(0, start);
  return buf.toString("latin1", start, end < 0 || end > limit ? limit : end);
}

function readSlice(buf: Buffer, where: string): MachOSlice {
  if (buf.length < 32 || buf.readUInt32LE(0) !== MH_MAGIC_64) {
    throw new Error(`${where}: not a 64-bit little-endian Mach-O (magic 0x${buf.length >= 4 ? buf.readUInt32LE(0).toString(16) : "?"})`);
  }
  const cpuType = buf.readUInt32LE(4);
  const fileType = buf.readUInt32LE(12);
  const ncmds = buf.readUInt32LE(16);
  const dylibs: string[] = [];
  let symtab: { symoff: number; nsyms: number; stroff: number; strsize: number } | undefined;
  let at = 32;
  for (let i = 0; i < ncmds; i++) {
    if (at + 8 > buf.length) throw new Error(`${where}: load command ${i} at offset ${at} runs past the end`);
    const cmd = buf.readUInt32LE(at);
    const size = buf.readUInt32LE(at + 4);
    if (size < 8 || at + size > buf.length) throw new Error(`${where}: load command ${i} at offset ${at} has bad size ${size}`);
    if (DYLIB_COMMANDS.has(cmd)) dylibs.push(cString(buf, at + buf.readUInt32LE(at + 8), at + size));
    if (cmd === LC_SYMTAB) {
      symtab = { symoff: buf.readUInt32LE(at + 8), nsyms: buf.readUInt32LE(at + 12), stroff: buf.readUInt32LE(at + 16), strsize: buf.readUInt32LE(at + 20) };
    }
    at += size;
  }
  const undefinedSymbols: MachOSlice["undefinedSymbols"] = [];
  if (symtab) {
    for (let i = 0; i < symtab.nsyms; i++) {
      const entry = symtab.symoff + i * 16;
      if (entry + 16 > buf.length) throw new Error(`${where}: symbol ${i} at offset ${entry} runs past the end`);
      const nType = buf.readUInt8(entry + 4);
      if ((nType & N_EXT) === 0 || (nType & N_TYPE) !== N_UNDF) continue;
      const name = cString(buf, symtab.stroff + buf.readUInt32LE(entry), symtab.stroff + symtab.strsize);
      const ordinal = (buf.readUInt16LE(entry + 6) >> 8) & 0xff;
      let from: SymbolSource;
      if (ordinal === DYNAMIC_LOOKUP_ORDINAL) from = "dynamic-lookup";
      else if (ordinal === SELF_LIBRARY_ORDINAL) from = "self";
      else if (ordinal === EXECUTABLE_ORDINAL) from = "executable";
      else if (ordinal <= dylibs.length) from = dylibs[ordinal - 1] as string;
      else throw new Error(`${where}: symbol ${name} names library ordinal ${ordinal}, but only ${dylibs.length} dylibs are loaded`);
      undefinedSymbols.push({ name, from });
    }
  }
  return { cpu: CPU_NAMES.get(cpuType) ?? `cputype 0x${cpuType.toString(16)}`, fileType, dylibs, undefinedSymbols };
}

/** The slices of a universal (fat) Mach-O file, or the one slice of a thin one. */
export function readMachO(buf: Buffer, where = "Mach-O"): MachOSlice[] {
  if (buf.length >= 8 && buf.readUInt32BE(0) === FAT_MAGIC) {
    const count = buf.readUInt32BE(4);
    const slices: MachOSlice[] = [];
    for (let i = 0; i < count; i++) {
      const arch = 8 + i * 20;
      const offset = buf.readUInt32BE(arch + 8);
      const size = buf.readUInt32BE(arch + 12);
      if (offset + size > buf.length) throw new Error(`${where}: fat slice ${i} (offset ${offset}, size ${size}) runs past the end`);
      slices.push(readSlice(buf.subarray(offset, offset + size), `${where} slice ${i}`));
    }
    return slices;
  }
  return [readSlice(buf, where)];
}

/** Basename of an install name: /usr/lib/libc++.1.dylib -> libc++.1.dylib. */
function leaf(installName: string): string {
  return installName.slice(installName.lastIndexOf("/") + 1);
}

/**
 * The undefined symbols a Node addon may not have: every symbol must come from one of the allowed dylibs
 * (matched by install-name basename), except Node-API's own, which only Node defines and which must be looked
 * up at load time. Returns one line per offending symbol, empty when the slice is clean.
 */
export function foreignSymbols(slice: MachOSlice, allowedDylibs: readonly string[]): string[] {
  const isNodeApi = (name: string): boolean => /^_(napi|node_api)_/.test(name);
  const problems: string[] = [];
  for (const { name, from } of slice.undefinedSymbols) {
    if (isNodeApi(name)) {
      if (from !== "dynamic-lookup") problems.push(`${slice.cpu}: ${name} is bound to ${from}, not looked up in Node at load time`);
    } else if (from === "dynamic-lookup" || from === "self" || from === "executable") {
      problems.push(`${slice.cpu}: ${name} is in no allowed library (${from})`);
    } else if (!allowedDylibs.includes(leaf(from))) {
      problems.push(`${slice.cpu}: ${name} comes from ${from}, which is not allowed`);
    }
  }
  return problems;
}
