/** IPv4/IPv6 address and CIDR block parsing for cidrMatch(). */

export interface IpAddress {
  bytes: Uint8Array; // 4 or 16
}

export interface CidrBlock {
  bytes: Uint8Array;
  prefix: number;
}

/**
 * s[from, to) (default: all of s) as four dot-separated decimal parts of 1 to 3 ASCII digits, each at most 255
 * (leading zeros allowed), and nothing else, as a 32-bit number; -1 for any other text.
 */
export function ipv4Number(s: string, from = 0, to = s.length): number {
  let out = 0;
  let part = 0;
  let value = 0;
  let digits = 0;
  for (let i = from; i < to; i++) {
    const c = s.charCodeAt(i);
    if (c === 46 /* . */) {
      if (digits === 0 || part === 3 || value > 255) return -1;
      out = out * 256 + value;
      part++;
      value = 0;
      digits = 0;
    } else if (c >= 48 && c <= 57 && digits < 3) {
      value = value * 10 + (c - 48);
      digits++;
    } else {
      return -1;
    }
  }
  if (digits === 0 || part !== 3 || value > 255) return -1;
  return out * 256 + value;
}

function parseIpv4(s: string): Uint8Array | null {
  const n = ipv4Number(s);
  if (n < 0) return null;
  const out = new Uint8Array(4);
  out[0] = n >>> 24;
  out[1] = (n >>> 16) & 0xff;
  out[2] = (n >>> 8) & 0xff;
  out[3] = n & 0xff;
  return out;
}

function parseIpv6(s: string): Uint8Array | null {
  let text = s;
  const zone = text.indexOf("%");
  if (zone >= 0) text = text.slice(0, zone);
  let tail: Uint8Array | null = null;
  const lastColon = text.lastIndexOf(":");
  if (lastColon >= 0 && text.indexOf(".", lastColon) > 0) {
    tail = parseIpv4(text.slice(lastColon + 1));
    if (!tail) return null;
    text = text.slice(0, lastColon + 1) + "0:0";
  }
  const halves = text.split("::");
  if (halves.length > 2) return null;
  const parseGroups = (h: string): number[] | null => {
    if (h === "") return [];
    const groups = h.split(":");
    const out: number[] = [];
    for (const g of groups) {
      if (!/^[0-9a-fA-F]{1,4}$/.test(g)) return null;
      out.push(parseInt(g, 16));
    }
    return out;
  };
  const head = parseGroups(halves[0]);
  const rest = halves.length === 2 ? parseGroups(halves[1]) : [];
  if (!head || !rest) return null;
  let groups: number[];
  if (halves.length === 2) {
    if (head.length + rest.length > 7) return null;
    groups = [...head, ...new Array<number>(8 - head.length - rest.length).fill(0), ...rest];
  } else {
    if (head.length !== 8) return null;
    groups = head;
  }
  const out = new Uint8Array(16);
  for (let i = 0; i < 8; i++) {
    out[2 * i] = groups[i] >> 8;
    out[2 * i + 1] = groups[i] & 0xff;
  }
  if (tail) out.set(tail, 12);
  return out;
}

function parseIpText(s: string): IpAddress | null {
  const text = s.trim();
  const bytes = text.includes(":") ? parseIpv6(text) : parseIpv4(text);
  return bytes ? { bytes } : null;
}

/**
 * The last text parsed and its address: the rules of a set that test the same field of one event (every
 * `cidrMatch(destination.ip, ...)`) parse it once. The result is shared, so callers must not change it.
 */
let lastText: string | null = null;
let lastAddress: IpAddress | null = null;

export function parseIp(s: string): IpAddress | null {
  if (s !== lastText) {
    lastAddress = parseIpText(s);
    lastText = s;
  }
  return lastAddress;
}

export function parseCidr(s: string): CidrBlock | null {
  const slash = s.indexOf("/");
  const ip = parseIpText(slash < 0 ? s : s.slice(0, slash));
  if (!ip) return null;
  const max = ip.bytes.length * 8;
  let prefix = max;
  if (slash >= 0) {
    const p = s.slice(slash + 1);
    if (!/^\d{1,3}$/.test(p)) return null;
    prefix = Number(p);
    if (prefix > max) return null;
  }
  return { bytes: ip.bytes, prefix };
}

export function cidrContains(block: CidrBlock, ip: IpAddress): boolean {
  const addr = ip.bytes;
  const net = block.bytes;
  // An IPv4 address against an IPv6 block compares as the IPv4-mapped address (::ffff:a.b.c.d): `mapped`.
  const mapped = addr.length !== net.length;
  if (mapped && !(addr.length === 4 && net.length === 16)) return false;
  let bits = block.prefix;
  for (let i = 0; bits > 0; i++, bits -= 8) {
    const mask = bits >= 8 ? 0xff : (0xff << (8 - bits)) & 0xff;
    const a = !mapped ? addr[i] : i < 10 ? 0 : i < 12 ? 0xff : addr[i - 12];
    if ((a & mask) !== (net[i] & mask)) return false;
  }
  return true;
}

/** The IPv4 addresses a block holds (as cidrContains decides), as a test on ipv4Number's value. */
export interface Ipv4Range {
  /** An address n is inside when ((n & mask) >>> 0) === base. */
  base: number;
  mask: number;
}

/**
 * Which IPv4 addresses a block holds; null for none. An IPv6 block holds those whose mapped address
 * (::ffff:a.b.c.d) it holds: all or none of them as far as its prefix covers the first 96 bits, then the rest.
 */
export function ipv4Range(block: CidrBlock): Ipv4Range | null {
  const b = block.bytes;
  const last4 = b.length === 4 ? b : b.subarray(12, 16);
  // The block's own last four bytes, as an address: inside it exactly when its first 96 bits admit IPv4 at all.
  if (b.length === 16 && !cidrContains(block, { bytes: Uint8Array.from(last4) })) return null;
  const prefix = b.length === 4 ? block.prefix : Math.max(0, block.prefix - 96);
  const mask = prefix === 0 ? 0 : (0xffffffff << (32 - prefix)) >>> 0;
  const address = ((last4[0] << 24) | (last4[1] << 16) | (last4[2] << 8) | last4[3]) >>> 0;
  return { base: (address & mask) >>> 0, mask };
}
