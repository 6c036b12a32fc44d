// Address and block parsing behind cidrMatch(): the hand-written IPv4 reader must accept exactly what the
// split-and-RegExp reader it replaced did, and the memo of the last text parsed must never answer for another text.
import { describe, expect, it } from "vitest";
import { cidrContains, ipv4Number, ipv4Range, parseCidr, parseIp } from "../../src/eql/cidr.js";
import { evaluateExpression } from "../../src/eql/engine.js";

/** The former IPv4 reader, kept here as the reference the new one must agree with. */
function referenceIpv4(s: string): number[] | null {
  const parts = s.trim().split(".");
  if (parts.length !== 4) return null;
  const out: number[] = [];
  for (const p of parts) {
    if (!/^\d{1,3}$/.test(p)) return null;
    const n = Number(p);
    if (n > 255) return null;
    out.push(n);
  }
  return out;
}

const bytesOf = (s: string): number[] | null => {
  const ip = parseIp(s);
  return ip === null ? null : Array.from(ip.bytes);
};

describe("parseIp: IPv4", () => {
  it.each([
    ["10.0.0.1", [10, 0, 0, 1]],
    ["255.255.255.255", [255, 255, 255, 255]],
    ["0.0.0.0", [0, 0, 0, 0]],
    ["010.001.000.009", [10, 1, 0, 9]],
    ["  192.168.1.23\t", [192, 168, 1, 23]],
  ])("reads %j", (text, bytes) => {
    expect(bytesOf(text)).toEqual(bytes);
  });

  it.each([
    "256.1.1.1",
    "1.2.3.256",
    "1.300.3.4",
    "999.1.1.1",
    "1..2.3",
    ".1.2.3",
    "1.2.3.",
    "1.2.3",
    "1.2.3.4.5",
    "1234.1.1.1",
    "0001.1.1.1",
    "1.2.3.-4",
    "1.2.3.+4",
    "1.2.3.4a",
    "1.2. 3.4",
    "\u0661.2.3.4",
    "",
    ".",
    "...",
  ])("rejects %j", (text) => {
    expect(parseIp(text)).toBeNull();
  });

  it("agrees with the split-and-RegExp reader on generated texts", () => {
    const alphabet = ["0", "1", "2", "5", "9", ".", ".", ".", "25", "255", "256", "00", " ", "a", "-", ":"];
    let seed = 7;
    const next = (n: number): number => {
      seed = (Math.imul(seed, 1103515245) + 12345) >>> 0;
      return (seed >>> 8) % n;
    };
    for (let k = 0; k < 20_000; k++) {
      let text = "";
      const pieces = 1 + next(10);
      for (let i = 0; i < pieces; i++) text += alphabet[next(alphabet.length)];
      if (text.includes(":")) continue; // IPv6 syntax: another reader
      const want = referenceIpv4(text);
      expect(bytesOf(text), text).toEqual(want);
      // ipv4Number reads the same addresses as one number, and (unlike parseIp) nothing around them.
      const number = want === null || text !== text.trim() ? -1 : ((want[0] << 24) | (want[1] << 16) | (want[2] << 8) | want[3]) >>> 0;
      expect(ipv4Number(text), text).toBe(number);
    }
  });
});

describe("parseIp: IPv6 and the memo", () => {
  it("reads IPv6 addresses as before, with an IPv4 tail read by the IPv4 reader", () => {
    expect(bytesOf("::1")).toEqual([...new Array(15).fill(0), 1]);
    expect(bytesOf("::ffff:10.1.2.3")).toEqual([0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff, 10, 1, 2, 3]);
    expect(bytesOf("::ffff:10.1.2.256")).toBeNull();
    expect(bytesOf("fe80::1%en0")).toEqual([0xfe, 0x80, ...new Array(13).fill(0), 1]);
    expect(bytesOf("1:2:3")).toBeNull();
  });

  it("answers each text for itself, whatever was parsed before", () => {
    expect(bytesOf("10.0.0.1")).toEqual([10, 0, 0, 1]);
    expect(bytesOf("10.0.0.2")).toEqual([10, 0, 0, 2]);
    expect(bytesOf("nope")).toBeNull();
    expect(bytesOf("10.0.0.2")).toEqual([10, 0, 0, 2]);
    expect(bytesOf("10.0.0.2")).toEqual([10, 0, 0, 2]);
    expect(bytesOf("::2")).toEqual([...new Array(15).fill(0), 2]);
    expect(bytesOf("10.0.0.1")).toEqual([10, 0, 0, 1]);
  });

  it("a block parsed after an address does not share its bytes", () => {
    const ip = parseIp("10.1.2.3");
    const block = parseCidr("10.1.2.3/8");
    expect(block).not.toBeNull();
    expect(block?.bytes).not.toBe(ip?.bytes);
  });
});

describe("cidrContains", () => {
  const contains = (block: string, ip: string): boolean => {
    const b = parseCidr(block);
    const a = parseIp(ip);
    if (b === null || a === null) throw new Error(`bad test input ${block} ${ip}`);
    return cidrContains(b, a);
  };

  it("compares an IPv4 address with an IPv6 block as the IPv4-mapped address", () => {
    expect(contains("::ffff:10.0.0.0/104", "10.1.2.3")).toBe(true);
    expect(contains("::ffff:10.0.0.0/104", "11.1.2.3")).toBe(false);
    expect(contains("::ffff:0:0/96", "192.168.1.1")).toBe(true);
    expect(contains("::/96", "192.168.1.1")).toBe(false);
    expect(contains("::/80", "192.168.1.1")).toBe(true);
    expect(contains("::/81", "192.168.1.1")).toBe(false);
    expect(contains("::/0", "192.168.1.1")).toBe(true);
    expect(contains("fe80::/10", "10.0.0.1")).toBe(false);
    expect(contains("::1", "0.0.0.1")).toBe(false);
  });

  it("never matches an IPv6 address against an IPv4 block", () => {
    expect(contains("0.0.0.0/0", "::1")).toBe(false);
    expect(contains("10.0.0.0/8", "::ffff:10.1.2.3")).toBe(false);
  });

  it("honours prefixes that end inside a byte", () => {
    expect(contains("172.16.0.0/12", "172.31.255.255")).toBe(true);
    expect(contains("172.16.0.0/12", "172.32.0.0")).toBe(false);
    expect(contains("fe80::/10", "febf::1")).toBe(true);
    expect(contains("fe80::/10", "fec0::1")).toBe(false);
  });
});

describe("ipv4Range", () => {
  it("holds exactly the IPv4 addresses cidrContains puts in the block, IPv6 blocks included", () => {
    const blocks = [
      "10.0.0.0/8", "192.168.1.0/24", "172.16.0.0/12", "0.0.0.0/0", "1.2.3.4", "1.2.3.4/31", "128.0.0.0/1",
      "::ffff:10.0.0.0/104", "::ffff:0:0/96", "::ffff:192.168.0.0/112", "::ffff:1.2.3.4", "::/0", "::/80",
      "::/81", "::/96", "::1", "fe80::/10", "::ffff:0:0/95", "::fffe:0:0/96", "2001:db8::/32",
    ];
    let seed = 3;
    const next = (n: number): number => {
      seed = (Math.imul(seed, 1103515245) + 12345) >>> 0;
      return (seed >>> 8) % n;
    };
    const octet = (): number => [0, 1, 2, 3, 4, 10, 127, 128, 168, 172, 192, 254, 255][next(13)] ?? next(256);
    for (const text of blocks) {
      const block = parseCidr(text);
      if (block === null) throw new Error(`bad block ${text}`);
      const range = ipv4Range(block);
      for (let k = 0; k < 400; k++) {
        const ip = [octet(), octet(), octet(), octet()].join(".");
        const n = ipv4Number(ip);
        const inRange = range !== null && ((n & range.mask) >>> 0) === range.base;
        expect(inRange, `${ip} in ${text}`).toBe(cidrContains(block, parseIp(ip) as NonNullable<ReturnType<typeof parseIp>>));
      }
    }
  });
});

describe("cidrMatch with literal blocks (the one-argument form)", () => {
  const ev = (source: string, event: Record<string, unknown> = {}) => evaluateExpression(source, event);
  const blocks = '"10.0.0.0/8", "127.0.0.0/8", "192.168.0.0/16", "::1", "fe80::/10"';

  it("is the same function as with computed blocks", () => {
    for (const ip of ["10.9.8.7", "8.8.8.8", " 192.168.3.3 ", "192.168.3.3", "::1", "fe80::5", "::ffff:192.168.1.1", "2001:db8::1", "garbage", "256.0.0.1"]) {
      const event = { d: { ip }, b: "192.168.0.0/16" };
      const literal = ev(`cidrMatch(d.ip, "192.168.0.0/16")`, event);
      expect(ev("cidrMatch(d.ip, b)", event), ip).toBe(literal);
    }
    expect(ev(`cidrMatch(d.ip, ${blocks})`, { d: { ip: "10.9.8.7" } })).toBe(true);
    expect(ev(`cidrMatch(d.ip, ${blocks})`, { d: { ip: "fe80::5" } })).toBe(true);
    expect(ev(`cidrMatch(d.ip, ${blocks})`, { d: { ip: "8.8.8.8" } })).toBe(false);
  });

  it("fans out over a multi-valued address, one result per element", () => {
    const event = { d: { ip: ["10.0.0.1", "8.8.8.8", "x"] }, b: "10.0.0.0/8" };
    expect(ev(`cidrMatch(d.ip, ${blocks})`, event)).toEqual([true, false, false]);
    expect(ev('cidrMatch(d.ip, "10.0.0.0/8")', event)).toEqual(ev("cidrMatch(d.ip, b)", event));
  });

  it("a null literal block makes a miss null, not false; a hit stays true", () => {
    expect(ev('cidrMatch(d.ip, "10.0.0.0/8", null)', { d: { ip: "8.8.8.8" } })).toBeNull();
    expect(ev('cidrMatch(d.ip, "10.0.0.0/8", null)', { d: { ip: "10.0.0.1" } })).toBe(true);
    expect(ev('cidrMatch(d.ip, "10.0.0.0/8")', { d: { ip: 5 } })).toBeNull();
  });
});
