import { describe, expect, it } from "vitest";
import { relevanceOf } from "../../src/agent/eventRelevance.js";
import { compileQuery, parseQuery } from "../../src/eql/index.js";
import type { RawEvent } from "../../src/sensor/rawEvent.js";
import { testMapper } from "../ecs/helpers.js";
import { seededRandom } from "../helpers/seededRandom.js";
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

describe("planFileGuards is sound", () => {
  it("every open a block rule matches is under a mark and passes the guard filter (random rules and paths)", () => {
    const random = seededRandom(1337);
    const { int: rand, pick } = random;
    const existing = ["/", "/etc", "/etc/ssh", "/home", "/home/a", "/home/a/.ssh", "/home/big", "/home/big/x", "/tmp"];
    const paths = [
      "/etc/shadow", "/etc/ssh/ssh_host_rsa_key", "/etc/ssh/sub/key", "/home/a/.ssh/id_rsa", "/home/a/notes.txt",
      "/home/big/x/id_rsa", "/home/big/x/deep/y.pem", "/tmp/SHADOW", "/tmp/x.pem", "/srv/app/secret", "/srv/id_rsa", "/id_rsa",
    ];
    const atom = (): string => {
      switch (rand(9)) {
        case 0: return `file.path == ${JSON.stringify(pick(paths))}`;
        case 1: return `file.path : ${JSON.stringify(pick(["/etc/*", "/home/*/.ssh/*", "*/id_rsa", "/srv/*", "/tmp/*.pem", "/etc/ssh/ssh_host_*", "/ETC/SHADOW"]))}`;
        case 2: return `file.name ${pick(["==", ":"])} ${JSON.stringify(pick(["id_rsa", "shadow", "*.pem", "SHADOW"]))}`;
        case 3: return `file.directory ${pick(["==", ":"])} ${JSON.stringify(pick(["/etc", "/etc/ssh", "/home/a/.ssh", "/srv/app", "/home/*", "/tmp/"]))}`;
        case 4: return `file.extension == ${JSON.stringify(pick(["pem", "txt"]))}`;
        case 5: return `process.name == ${JSON.stringify(pick(["cat", "sh"]))}`;
        case 6: return `event.action == ${JSON.stringify(pick(["open", "creation"]))}`;
        case 7: return `file.path in (${JSON.stringify(pick(paths))}, ${JSON.stringify(pick(paths))})`;
        default: return `not file.name == ${JSON.stringify(pick(["id_rsa", "x"]))}`;
      }
    };
    const expr = (depth: number): string => (depth === 0 || rand(3) === 0 ? atom() : `(${expr(depth - 1)} ${rand(2) ? "and" : "or"} ${expr(depth - 1)})`);
    const fakeFacts = facts(existing);
    const fsOf = (path: string) => mounts.filter((m) => m.fsType !== "proc" && (m.mountPoint === "/" || path.startsWith(`${m.mountPoint}/`))).sort((a, b) => b.mountPoint.length - a.mountPoint.length)[0].mountPoint;
    let matched = 0;
    let unguarded = 0;
    for (let round = 0; round < 600; round++) {
      const query = `${pick(["file", "any"])} where ${expr(3)}`;
      // testMapper's host is a Mac.
      const plan = planFileGuards([rule("r", query)], { hostOsType: "macos" }, fakeFacts);
      if (plan.unguarded.length > 0) {
        unguarded++;
        continue;
      }
      const passes = relevanceOf({ kinds: ["open"], execPrefilter: null, filePrefilter: plan.filter ?? { pathEquals: [], pathPrefix: [], pathSuffix: [], pathContains: [], nameEquals: [] } });
      const test = compileQuery(query).test!;
      const mapper = testMapper();
      mapper.map({ source: "linux", kind: "exec", seq: 1, time: 1, pid: 7, ppid: 1, executable: "/bin/cat", args: ["cat"] });
      for (const path of paths) {
        const raw: RawEvent = { source: "linux", kind: "open", seq: 2, time: 2, pid: 7, file: { path } };
        if (!test(mapper.map(raw))) continue;
        matched++;
        const parent = path.slice(0, path.lastIndexOf("/")) || "/";
        const marked = plan.dirs.includes(parent) || plan.filesystems.includes(fsOf(path));
        expect(marked, `${query}: ${path} under no mark (${JSON.stringify(plan)})`).toBe(true);
        expect(passes(raw), `${query}: ${path} fails the guard filter`).toBe(true);
      }
    }
    expect(matched).toBeGreaterThan(300);
    expect(unguarded).toBeGreaterThan(10);
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
