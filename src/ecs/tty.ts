/** ECS process.tty.char_device from a tty name, when its device numbers follow from the name. */
export function ttyCharDevice(tty: string): { major: number; minor: number } | undefined {
  let m = /^(?:\/dev\/)?ttys(\d+)$/.exec(tty); // macOS pseudo-terminals: major 16
  if (m) return { major: 16, minor: Number(m[1]) };
  m = /^(?:\/dev\/)?pts\/(\d+)$/.exec(tty); // Linux Unix98 pty slaves: majors 136–143
  if (m) {
    const n = Number(m[1]);
    return { major: 136 + Math.floor(n / 256), minor: n % 256 };
  }
  m = /^(?:\/dev\/)?tty(\d+)$/.exec(tty); // Linux virtual consoles: major 4
  if (m) return { major: 4, minor: Number(m[1]) };
  m = /^(\d+):(\d+)$/.exec(tty);
  if (m) return { major: Number(m[1]), minor: Number(m[2]) };
  return undefined;
}

/** The terminal's path from ECS process.tty.char_device, on the platform whose numbering it follows. */
export function ttyPath(device: { major?: unknown; minor?: unknown } | undefined, platform: NodeJS.Platform = process.platform): string | undefined {
  const major = device?.major;
  const minor = device?.minor;
  if (typeof major !== "number" || typeof minor !== "number") return undefined;
  if (platform === "darwin" && major === 16) return `/dev/ttys${String(minor).padStart(3, "0")}`;
  if (platform === "linux" && major >= 136 && major <= 143) return `/dev/pts/${(major - 136) * 256 + minor}`;
  if (platform === "linux" && major === 4 && minor < 64) return `/dev/tty${minor}`;
  return undefined;
}
