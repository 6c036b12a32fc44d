import { describe, expect, it } from "vitest";
import { parseQuery } from "../../src/eql/index.js";
import { parseMountInfo, planFileGuards, ruleGuardTargets, type GuardFacts, type Mount } from "../../src/sensor/fileGuards.js";

const linux = { hostOsType: "linux" };
const targets = (query: string) => ruleGuardTargets(parseQuery(query), linux);

const mounts: Mount[] = [
  { mountPoint: "/", fsType: "ext4" },
  { mountPoint: "/proc", fsType: "proc" },
  { mountPoint: "/home", fsType: "xfs" },
  { mountPoint: "/home/big", fsType: "btrfs" },
  { mountPoint: "/tmp", fsType: "tmpfs" },
];
const facts = (dirs: string[], links: Record<string, string> = {}): GuardFacts => ({
  realDir: (path) => links[path] ?? (dirs.includes(path) ? path : undefined),
  mounts: () => mounts,
});
const rule = (id: string, query: string) => ({ id, name: `rule ${id}`, query: parseQuery(query) });

describe("ruleGuardTargets", () => {
  it("an exact path guards its directory's children; file.directory the directory's", () => {
    expect(targets('file where event.action == "open" and file.path == "/etc/shadow"').targets).toEqual([{ kind: "children", dir: "/etc" }]);
    expect(targets('file where file.directory == "/etc/ssh/"').targets).toEqual([{ kind: "children", dir: "/etc/ssh" }]);
    expect(targets('file where file.path in ("/etc/shadow", "/root/.ssh/id_rsa")').targets).toEqual([
      { kind: "children", dir: "/etc" },
      { kind: "children", dir: "/root/.ssh" },
    ]);
  });

  it("a pattern with a literal head guards the subtree of the head's directory; no head, a name or an extension: anywhere", () => {
    expect(targets('file where file.path : "/Users/*/Library/Keychains/*"').targets).toEqual([{ kind: "subtree", dir: "/Users" }]);
    expect(targets('file where file.path : "/etc/ssh/ssh_host_*_key"').targets).toEqual([{ kind: "subtree", dir: "/etc/ssh" }]);
    expect(targets('file where file.path : "*/.ssh/id_rsa"').targets).toEqual([{ kind: "anywhere" }]);
    expect(targets('file where file.name == "id_rsa"').targets).toEqual([{ kind: "anywhere" }]);
    expect(targets('file where file.extension == "pem"').targets).toEqual([{ kind: "anywhere" }]);
  });

  it("a conjunction keeps its narrowest operand; a disjunction needs every branch", () => {
    expect(targets('file where file.name == "shadow" and file.directory == "/etc"').targets).toEqual([{ kind: "children", dir: "/etc" }]);
    expect(targets('file where process.name == "cat" and file.path : "/srv/*"').targets).toEqual([{ kind: "subtree", dir: "/srv" }]);
    expect(targets('file where file.path == "/etc/shadow" or process.name == "cat"').unguardable).toMatch(/no file\.path/);
    expect(targets('file where file.path == "/etc/shadow" or file.name == "x"').targets).toEqual([{ kind: "children", dir: "/etc" }, { kind: "anywhere" }]);
  });

  it("a rule with no condition on the file's place cannot be guarded; one that sees no open needs nothing", () => {
    expect(targets('file where process.name == "cat"')).toMatchObject({ targets: null, unguardable: expect.stringMatching(/which files it opens/) });
    expect(targets('file where event.action == "creation" and process.name == "cat"')).toEqual({ targets: null });
    expect(targets('process where process.name == "cat"')).toEqual({ targets: null });
    // A macOS rule on a Linux sensor opens nothing here.
    expect(targets('file where host.os.type == "macos" and process.name == "cat"')).toEqual({ targets: null });
  });

  it("carries the stages' open pre-filter as the native check", () => {
    expect(targets('file where file.path == "/etc/shadow"').filter).toEqual({ pathEquals: ["/etc/shadow"], pathPrefix: [], pathSuffix: [], pathContains: [], nameEquals: [] });
  });
});

describe("planFileGuards", () => {
  it("marks existing directories, with the rules they serve, and merges the filters", () => {
    const plan = planFileGuards(
      [rule("a", 'file where file.path == "/etc/shadow"'), rule("b", 'file where file.path == "/etc/gshadow"'), rule("c", 'process where process.name == "x"')],
      linux,
      facts(["/", "/etc"]),
    );
    expect(plan.dirs).toEqual(["/etc"]);
    expect(plan.filesystems).toEqual([]);
    expect(plan.marks).toEqual([{ kind: "dir", path: "/etc", rules: ["a (rule a)", "b (rule b)"] }]);
    expect(plan.filter?.pathEquals).toEqual(["/etc/gshadow", "/etc/shadow"]);
    expect(plan.unguarded).toEqual([]);
  });

  it("a subtree marks its filesystem and every local one mounted under it, never a pseudo filesystem", () => {
    const plan = planFileGuards([rule("k", 'file where file.path : "/home/*/.ssh/*"')], linux, facts(["/", "/home"]));
    expect(plan.filesystems).toEqual(["/home", "/home/big"]);
    const everywhere = planFileGuards([rule("n", 'file where file.name == "id_rsa"')], linux, facts(["/"]));
    expect(everywhere.filesystems).toEqual(["/", "/home", "/home/big", "/tmp"]);
    expect(everywhere.dirs).toEqual([]);
  });

  it("a directory that does not exist is covered by the filesystem of its nearest existing ancestor, and says so", () => {
    const plan = planFileGuards([rule("m", 'file where file.path == "/srv/app/secret"')], linux, facts(["/", "/srv"]));
    expect(plan.dirs).toEqual([]);
    expect(plan.filesystems).toEqual(["/"]);
    expect(plan.marks[0].note).toMatch(/\/srv\/app does not exist, so the filesystem of \/srv/);
  });

  it("marks a directory by its real path", () => {
    const plan = planFileGuards([rule("l", 'file where file.path == "/var/run/secret"')], linux, facts(["/", "/run"], { "/var/run": "/run" }));
    expect(plan.dirs).toEqual(["/run"]);
    expect(plan.marks[0].note).toBe("/var/run resolves to /run");
  });

  it("reports the rules it cannot guard and holds nothing for them", () => {
    const plan = planFileGuards([rule("u", 'file where process.name == "cat"')], linux, facts(["/"]));
    expect(plan).toMatchObject({ dirs: [], filesystems: [], filter: null, unguarded: [{ id: "u", name: "rule u" }] });
  });

  it("a rule for another OS guards nothing", () => {
    const plan = planFileGuards([rule("mac", 'file where host.os.type == "macos" and file.path == "/etc/shadow"')], linux, facts(["/", "/etc"]));
    expect(plan).toMatchObject({ dirs: [], filesystems: [], filter: null, unguarded: [] });
  });
});

describe("parseMountInfo", () => {
  it("reads the mount point (unescaping octal) and the type after the separator", () => {
    const text = [
      "22 1 8:1 / / rw,relatime shared:1 - ext4 /dev/sda1 rw",
      "30 22 0:5 / /mnt/my\\040disk rw - vfat /dev/sdb1 rw",
      "31 22 0:6 / /proc rw,nosuid - proc proc rw",
      "",
    ].join("\n");
    expect(parseMountInfo(text)).toEqual([
      { mountPoint: "/", fsType: "ext4" },
      { mountPoint: "/mnt/my disk", fsType: "vfat" },
      { mountPoint: "/proc", fsType: "proc" },
    ]);
  });
});
