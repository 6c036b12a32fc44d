// A corpus of realistic macOS detection rules in Elastic's TOML format, for benchmarks.
//
// We cannot ship Elastic's own rules (licence), so these are our own, written in the shapes Elastic's macOS EQL
// rules use: `process where` with process.name lists, process.args / command_line wildcards (`:`, `like~`, with
// `*` and `?`), a few `regex` on args, code-signature conditions, parent names, `file where` on file.path,
// `network where` with cidrmatch, and sequences `by process.entity_id with maxspan`. The set is deterministic.
//
//   import { macosRules, writeMacosRules } from "./corpus/macos-rules.mjs";
//   macosRules()            -> 145 { fileName, ruleId, name, query, toml }
//   macosRules(1000)        -> the same 145 first, then variants of the same families with other values
//   writeMacosRules(dir, n) -> writes n .toml files into dir (created), returns their paths
//
// The rules load unchanged with src/rules/loader.ts (loadRules).
import { mkdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";

/** The number of rules in the base corpus (the active Elastic macOS EQL rule count we model). */
export const MACOS_RULE_COUNT = 145;

const q = (s) => JSON.stringify(s);
const list = (xs) => `(${xs.map(q).join(", ")})`;
const MAC = 'host.os.type == "macos"';
const START = `${MAC} and event.type in ("start", "process_started")`;

// Each family: a tactic, and parameter sets; `make(p)` gives { name, query, severity }.
const families = [
  {
    tactic: ["TA0006", "Credential Access"],
    params: [
      ["security", ["find-generic-password", "find-internet-password"], "*-w*"],
      ["security", ["dump-keychain"], "*-d*"],
      ["security", ["export"], "*-t priv*"],
      ["security", ["set-key-partition-list"], "*-S apple-tool:*"],
      ["security", ["unlock-keychain"], "*-p ?*"],
      ["sqlite3", ["*Cookies*", "*Login Data*"], "*SELECT*FROM*"],
      ["sqlite3", ["*TCC.db*"], "*INSERT*INTO*access*"],
      ["dscl", ["-authonly", "-read"], "*/Users/*"],
      ["kcpassword", ["-r"], "*?*"],
      ["defaults", ["read"], "*com.apple.loginwindow*"],
    ],
    make: ([name, args, cmd]) => ({
      name: `Credential access via ${name} ${args[0].replace(/\*/g, "")}`,
      severity: "high",
      query: `process where ${START} and process.name : ${q(name)} and\n  process.args like~ ${list(args)} and process.command_line : ${q(cmd)}`,
    }),
  },
  {
    tactic: ["TA0002", "Execution"],
    params: [
      ["osascript", ["*display dialog*password*", "*display dialog*passphrase*"]],
      ["osascript", ["*do shell script*with administrator privileges*"]],
      ["osascript", ["*-e*tell application \"System Events\"*keystroke*"]],
      ["osascript", ["*-l JavaScript*ObjC.import*"]],
      ["osascript", ["*NSAppleScript*", "*run script*"]],
      ["swift", ["*-e*import Foundation*Process()*"]],
      ["perl", ["*-e*socket*INET*", "*-MIO::Socket*"]],
      ["ruby", ["*-rsocket*-e*", "*TCPSocket.open*"]],
      ["php", ["*-r*fsockopen*", "*-r*shell_exec*"]],
      ["tclsh", ["*socket*exec*"]],
    ],
    make: ([name, cmds]) => ({
      name: `Suspicious ${name} command line ${cmds[0].replace(/[*"]/g, " ").trim().split(" ")[0]}`,
      severity: "medium",
      query: `process where ${START} and process.name : ${q(name)} and process.command_line : ${list(cmds)}`,
    }),
  },
  {
    tactic: ["TA0011", "Command and Control"],
    params: [
      [["bash", "sh", "zsh"], ["*curl*|*sh*", "*curl*|*bash*", "*wget*|*sh*"]],
      [["bash", "sh", "zsh", "dash"], ["*base64 -d*|*sh*", "*base64 -D*|*bash*", "*base64 --decode*|*sh*"]],
      [["bash", "sh", "zsh"], ["*/dev/tcp/*", "*/dev/udp/*"]],
      [["bash", "sh", "zsh", "tcsh"], ["*nc -e *", "*ncat -e *", "*mkfifo*nc*"]],
      [["bash", "sh", "zsh"], ["*python* -c *import pty*", "*python* -c *socket*"]],
      [["bash", "sh", "zsh"], ["*curl -sk*http?://*", "*curl -fsSL*http?://*.sh*"]],
      [["bash", "sh", "zsh"], ["*openssl enc -d*|*sh*", "*openssl base64 -d*"]],
      [["bash", "sh", "zsh"], ["*chmod +x /tmp/*&&*", "*chmod 777 /Users/Shared/*"]],
    ],
    make: ([names, cmds], i) => ({
      name: `Shell one-liner ${i + 1}: ${cmds[0].replace(/\*/g, " ").trim().split(" ")[0]}`,
      severity: "high",
      query: `process where ${START} and process.name in ${list(names)} and process.args == "-c" and\n  process.command_line : ${list(cmds)}`,
    }),
  },
  {
    tactic: ["TA0008", "Lateral Movement"],
    params: [
      ["scp", ["scp *localhost:/*", "scp *127.0.0.?:/*"], "StrictHostKeyChecking=no"],
      ["ssh", ["ssh *-R *127.0.0.?:*", "ssh *-L *:127.0.0.?:*"], "-N"],
      ["rsync", ["rsync *localhost:/*", "rsync *127.0.0.?:/*"], "-e"],
      ["sftp", ["sftp *@127.0.0.?:*"], "-b"],
      ["ssh", ["ssh *-D ????*"], "-f"],
      ["socat", ["socat *TCP?-LISTEN:*", "socat *EXEC:*"], "-d"],
    ],
    make: ([name, cmds, arg]) => ({
      name: `${name} to a loopback or tunnel target`,
      severity: "medium",
      query: `process where ${START} and process.name == ${q(name)} and process.args like~ ${q(arg)} and\n  process.command_line like~ ${list(cmds)} and not process.args : "vagrant@*127.0.0.1*"`,
    }),
  },
  {
    tactic: ["TA0005", "Defense Evasion"],
    params: [
      [["sh", "bash", "zsh", "python", "python3", "osascript"], ["Microsoft Word", "Microsoft Excel", "Microsoft PowerPoint"]],
      [["curl", "nscurl", "wget"], ["Microsoft Word", "Microsoft Outlook"]],
      [["sh", "bash", "zsh", "osascript"], ["Safari", "Google Chrome", "firefox"]],
      [["sh", "bash", "zsh"], ["Slack", "Discord", "Telegram"]],
      [["sh", "bash", "python3", "perl"], ["Installer", "package_script_service"]],
      [["launchctl", "chmod", "xattr"], ["Finder", "Archive Utility"]],
    ],
    make: ([children, parents]) => ({
      name: `${children[0]} spawned by ${parents[0]}`,
      severity: "high",
      query: `process where ${START} and process.parent.name like~ ${list(parents)} and process.name : ${list(children)} and\n  not process.args : ("-c", "--version") and (process.code_signature.trusted == false or process.code_signature.exists == false or process.code_signature.signing_id : "com.apple.*")`,
    }),
  },
  {
    tactic: ["TA0003", "Persistence"],
    params: [
      ["/Library/LaunchAgents/*.plist", "/Users/*/Library/LaunchAgents/*.plist"],
      ["/Library/LaunchDaemons/*.plist", "/System/Library/LaunchDaemons/*.plist"],
      ["/private/etc/emond.d/rules/*.plist", "/private/var/db/emondClients/*"],
      ["/private/var/at/tabs/*", "/private/etc/crontab"],
      ["/Users/*/.ssh/authorized_keys", "/Users/*/.ssh/authorized_keys2", "/private/var/root/.ssh/authorized_keys"],
      ["/Library/Security/SecurityAgentPlugins/*", "/private/etc/pam.d/*"],
      ["/Users/*/Library/Application Support/com.apple.backgroundtaskmanagementagent/*"],
      ["/private/etc/periodic/daily/*", "/private/etc/periodic/weekly/*", "/private/etc/periodic/monthly/*"],
      ["/Users/*/.zshrc", "/Users/*/.zshenv", "/Users/*/.bash_profile", "/private/etc/zshrc"],
      ["/Library/Preferences/com.apple.loginwindow.plist", "/Users/*/Library/Preferences/com.apple.loginitems.plist"],
      ["/Library/Application Support/com.apple.TCC/TCC.db", "/Users/*/Library/Application Support/com.apple.TCC/TCC.db"],
      ["/private/etc/hosts", "/private/etc/resolv.conf"],
      ["/Library/Extensions/*.kext/*", "/Library/StagedExtensions/*"],
      ["/Applications/*.app/Contents/MacOS/.?*", "/Users/*/Applications/*.app/Contents/MacOS/.?*"],
      ["/Users/*/Library/Containers/com.apple.mail/Data/Library/Mail Downloads/*"],
      ["/private/var/folders/*/T/AppTranslocation/*", "/private/tmp/.???*"],
      ["/Library/Managed Preferences/*", "/Library/Preferences/com.apple.security*"],
      ["/usr/local/bin/.*", "/opt/homebrew/bin/.*"],
    ],
    make: (paths, i) => ({
      name: `Persistence or tampering via file ${i + 1}: ${paths[0].split("/").filter((p) => p && p !== "*")[1] ?? paths[0]}`,
      severity: i % 3 === 0 ? "high" : "medium",
      query: `file where ${MAC} and event.type != "deletion" and file.path : ${list(paths)} and\n  not process.executable : ("/usr/libexec/*", "/System/Library/*", "/Library/Apple/*") and not process.code_signature.signing_id : "com.apple.*"`,
    }),
  },
  {
    tactic: ["TA0011", "Command and Control"],
    params: [
      [["curl", "nscurl", "wget"], 4444],
      [["osascript", "python3", "perl", "ruby"], 443],
      [["bash", "sh", "zsh"], 8080],
      [["nc", "ncat", "socat"], 1337],
      [["node", "deno", "bun"], 9001],
      [["tclsh", "expect"], 31337],
      [["launchctl", "mdworker_shared"], 53],
      [["screensharingd", "ARDAgent"], 5900],
    ],
    make: ([names, port]) => ({
      name: `Outbound connection by ${names[0]} to a public address`,
      severity: "medium",
      query: `network where ${MAC} and event.type == "start" and process.name : ${list(names)} and\n  (destination.port == ${port} or destination.port > 49151) and\n  not cidrmatch(destination.ip, "10.0.0.0/8", "127.0.0.0/8", "169.254.0.0/16", "172.16.0.0/12", "192.168.0.0/16", "::1", "fe80::/10")`,
    }),
  },
  {
    tactic: ["TA0005", "Defense Evasion"],
    params: [
      ["xattr", '(process.args : "com.apple.quarantine" and process.args : ("-d", "-w")) or process.args : "-c" or process.command_line : ("/bin/bash -c xattr -c *", "/bin/zsh -c xattr -c *")'],
      ["spctl", 'process.args like~ ("--master-disable", "--global-disable", "--disable")'],
      ["csrutil", 'process.args like~ ("disable", "authenticated-root")'],
      ["defaults", 'process.args like~ "write" and process.args like~ ("LoginHook", "LogoutHook", "GKAutoRearm", "LSQuarantine")'],
      ["tccutil", 'process.args like~ "reset" and process.args like~ ("All", "SystemPolicyAllFiles", "Accessibility")'],
      ["launchctl", 'process.args like~ ("unload", "bootout", "disable") and process.args : ("*com.apple.*", "*/Library/LaunchDaemons/*")'],
      ["kextunload", 'process.args : "*com.apple.*"'],
      ["pfctl", 'process.args : ("-d", "-F")'],
      ["systemsetup", 'process.args like~ ("-setremotelogin", "-setremoteappleevents") and process.args like~ "on"'],
      ["log", 'process.args like~ "erase" and process.args like~ "--all"'],
      ["rm", 'process.args : ("/var/log/*", "/private/var/log/*", "/Users/*/.zsh_history", "/Users/*/.bash_history")'],
      ["touch", 'process.args : ("-t", "-r", "-A") and process.args : ("/Library/*", "/Users/*/Library/*", "/usr/local/*")'],
      ["chflags", 'process.args like~ "hidden" and process.args : ("/Users/*", "/Library/*", "/private/*")'],
      ["SetFile", 'process.args : "-a" and process.args : "V"'],
      ["mdutil", 'process.args like~ ("-i", "-E") and process.args like~ ("off", "/")'],
      ["nvram", 'process.args : ("boot-args=*", "*amfi_get_out_of_my_way*")'],
    ],
    make: ([name, cond]) => ({
      name: `Security control weakened with ${name}`,
      severity: "high",
      query: `process where ${START} and process.name == ${q(name)} and (${cond})`,
    }),
  },
  {
    tactic: ["TA0007", "Discovery"],
    params: [
      ["system_profiler", ["SPHardwareDataType", "SPSoftwareDataType", "SPUSBDataType"]],
      ["ioreg", ["-rd1", "-c", "IOPlatformExpertDevice"]],
      ["sysctl", ["hw.model", "kern.boottime", "machdep.cpu.brand_string"]],
      ["dscl", ["-list", "/Users", "/Groups"]],
      ["dscacheutil", ["-q", "user", "group"]],
      ["networksetup", ["-listallhardwareports", "-getairportnetwork"]],
      ["mdfind", ["kMDItemContentType", "password", "wallet"]],
      ["pkgutil", ["--pkgs", "--files"]],
      ["ls", ["/Applications", "/Library/Application Support/*"]],
      ["find", ["/Users/*/Library/Application Support/*/wallet*", "*.kdbx"]],
    ],
    make: ([name, args]) => ({
      name: `Discovery with ${name} from an untrusted parent`,
      severity: "low",
      query: `process where ${START} and process.name == ${q(name)} and process.args : ${list(args)} and\n  process.parent.code_signature.trusted == false`,
    }),
  },
  {
    tactic: ["TA0002", "Execution"],
    params: [
      [["/Users/*/.*", "/private/tmp/.*", "/tmp/.*", "/Users/Shared/.*"]],
      [["/private/var/folders/*/T/*.app/Contents/MacOS/*"]],
      [["/Volumes/*/*.app/Contents/MacOS/*"]],
      [["/Users/*/Downloads/*", "/Users/*/Desktop/*"]],
      [["/Library/Caches/*", "/Users/*/Library/Caches/*"]],
      [["/private/var/root/*", "/Users/Shared/*"]],
      [["/Users/*/Library/Application Support/?*/??*"]],
      [["/Library/Application Support/*/bin/*"]],
    ],
    make: ([paths], i) => ({
      name: `Execution from an unusual location ${i + 1}`,
      severity: "medium",
      query: `process where ${START} and process.executable : ${list(paths)} and\n  (process.code_signature.exists == false or process.code_signature.trusted == false) and not process.name : ("brew", "pip*", "node")`,
    }),
  },
  {
    tactic: ["TA0002", "Execution"],
    params: [
      ["python*", '"""-c"""', '""".*(socket|pty\\.spawn|subprocess).*"""'],
      ["perl", '"""-e"""', '""".*(IO::Socket|fork|exec).*"""'],
      ["curl", '"""-[a-zA-Z]*o"""', '"""(https?|ftp)://[0-9]{1,3}(\\.[0-9]{1,3}){3}(:[0-9]+)?/.*"""'],
      ["base64", '"""-(d|D|-decode)"""', '""".*[A-Za-z0-9+/]{40,}={0,2}.*"""'],
      ["openssl", '"""enc"""', '"""-(aes|des|bf)[-a-z0-9]*"""'],
      ["security", '"""add-(generic|internet)-password"""', '""".*-[UAw].*"""'],
      ["defaults", '"""write"""', '"""com\\.apple\\.[a-z]+(\\.[a-z]+)*"""'],
      ["mktemp", '"""-[dt]"""', '"""/(private/)?tmp/[A-Za-z0-9]{6,}"""'],
      ["launchctl", '"""(load|bootstrap)"""', '""".*/Library/Launch(Agents|Daemons)/[^/]+\\.plist"""'],
      ["tar", '"""-[a-z]*c[a-z]*"""', '""".*/(Keychains|Cookies|\\.ssh)/.*"""'],
      ["zip", '"""-[a-zA-Z]*r[a-zA-Z]*"""', '""".*(Library/Keychains|Library/Cookies|\\.ssh|\\.aws).*"""'],
      ["hdiutil", '"""(attach|mount)"""', '""".*\\.(dmg|iso|sparseimage)"""'],
    ],
    make: ([name, argRe, cmdRe]) => ({
      name: `${name.replace("*", "")} with a suspicious argument pattern`,
      severity: "medium",
      query: `process where ${START} and process.name : ${q(name)} and process.args regex~ ${argRe} and process.command_line regex ${cmdRe}`,
    }),
  },
  {
    tactic: ["TA0004", "Privilege Escalation"],
    params: [
      ["sudo", ["-S", "-A"], ["bash", "sh", "zsh", "python3"]],
      ["su", ["-", "root"], ["bash", "sh"]],
      ["osascript", ["-e"], ["AuthorizationExecuteWithPrivileges", "security_authtrampoline"]],
      ["security_authtrampoline", ["*"], ["sh", "bash", "zsh"]],
      ["dseditgroup", ["-o", "edit", "-a"], ["admin", "wheel"]],
      ["dscl", [".", "-append", "/Groups/admin"], ["GroupMembership"]],
      ["sysadminctl", ["-addUser", "-admin"], ["*"]],
      ["createhomedir", ["-c", "-u"], ["*"]],
    ],
    make: ([name, args, others]) => ({
      name: `Privilege change with ${name}`,
      severity: "high",
      query: `process where ${START} and process.name == ${q(name)} and process.args : ${list(args)} and\n  process.args like~ ${list(others)} and not process.parent.executable : ("/usr/libexec/*", "/System/*")`,
    }),
  },
  {
    tactic: ["TA0011", "Command and Control"],
    params: [
      [["curl", "nscurl", "wget"], ["/tmp/*", "/private/tmp/*", "/Users/Shared/*"], ["chmod", "xattr"], ["+x", "-d", "com.apple.quarantine"]],
      [["curl", "nscurl"], ["/Users/*/Library/*"], ["launchctl"], ["load", "bootstrap"]],
      [["hdiutil"], ["/Volumes/*"], ["cp", "ditto"], ["/Applications/*"]],
      [["unzip", "ditto", "tar"], ["/private/var/folders/*"], ["open"], ["-a", "-g", "-j"]],
      [["osascript"], ["*"], ["curl", "nscurl"], ["-o", "-O", "--output"]],
      [["python3", "python"], ["*"], ["codesign"], ["--remove-signature", "-f"]],
      [["git"], ["clone"], ["bash", "sh", "zsh"], ["*install*.sh", "*setup*.sh"]],
      [["installer"], ["-pkg"], ["sh", "bash"], ["*postinstall*", "*preinstall*"]],
    ],
    make: ([first, firstArgs, second, secondArgs], i) => ({
      name: `Download then execute sequence ${i + 1}`,
      severity: "high",
      query: `sequence by process.entity_id with maxspan=30s\n  [process where ${START} and process.name : ${list(first)} and process.args : ${list(firstArgs)}]\n  [process where ${START} and process.name : ${list(second)} and process.args : ${list(secondArgs)}]`,
    }),
  },
  {
    tactic: ["TA0010", "Exfiltration"],
    params: [
      [["curl", "nscurl"], ["-F", "--upload-file", "-T", "--data-binary"]],
      [["scp", "sftp", "rsync"], ["*@*:*"]],
      [["zip", "ditto", "tar"], ["*Library/Keychains*", "*Library/Cookies*"]],
      [["osascript", "python3"], ["*"]],
      [["nc", "ncat"], ["*"]],
      [["ftp", "tftp"], ["put", "mput"]],
    ],
    make: ([names, args], i) => ({
      name: `Process then network exfiltration sequence ${i + 1}`,
      severity: "medium",
      query: `sequence by process.entity_id with maxspan=1m\n  [process where ${START} and process.name : ${list(names)} and process.args : ${list(args)}]\n  [network where ${MAC} and event.type == "start" and not cidrmatch(destination.ip, "10.0.0.0/8", "127.0.0.0/8", "192.168.0.0/16")]`,
    }),
  },
  {
    tactic: ["TA0003", "Persistence"],
    params: [
      [["/Library/LaunchAgents/*.plist", "/Users/*/Library/LaunchAgents/*.plist"], ["launchctl"], ["load", "bootstrap", "enable"]],
      [["/Library/LaunchDaemons/*.plist"], ["launchctl"], ["load", "bootstrap", "kickstart"]],
      [["/private/tmp/*", "/Users/Shared/*"], ["chmod"], ["+x", "755", "777", "u+x"]],
      [["/Users/*/.ssh/*"], ["ssh-keygen", "ssh-add"], ["-f", "-t", "-K"]],
      [["/private/var/at/tabs/*"], ["crontab", "at"], ["-e", "-l", "*"]],
      [["/Library/Extensions/*"], ["kextload", "kmutil"], ["load", "-b", "*"]],
      [["/Applications/*.app/*"], ["codesign", "xattr"], ["--remove-signature", "-c", "-d"]],
      [["/private/etc/sudoers*"], ["visudo", "sudo"], ["-c", "-l", "*"]],
      [["/Library/Security/SecurityAgentPlugins/*"], ["security"], ["authorizationdb"]],
      [["/Users/*/Library/Application Support/*/*.dylib"], ["launchctl", "open"], ["*"]],
      [["/private/etc/pam.d/*"], ["login", "sudo"], ["*"]],
      [["/Users/*/Library/Preferences/*.plist"], ["defaults"], ["import", "write"]],
    ],
    make: ([paths, names, args], i) => ({
      name: `File written then used sequence ${i + 1}`,
      severity: i % 2 === 0 ? "high" : "medium",
      query: `sequence by process.entity_id with maxspan=5m\n  [file where ${MAC} and event.type != "deletion" and file.path : ${list(paths)}]\n  [process where ${START} and process.name : ${list(names)} and process.args : ${list(args)}]`,
    }),
  },
  {
    tactic: ["TA0005", "Defense Evasion"],
    params: [
      ["Electron", ["--inspect*", "--remote-debugging-port=*"]],
      ["Slack", ["--inspect*", "--remote-debugging-port=*"]],
      ["Code", ["--inspect-brk*", "--remote-debugging-port=*"]],
      ["Google Chrome", ["--load-extension=*", "--remote-debugging-port=*", "--headless*"]],
      ["Safari", ["--remote-debugging*"]],
      ["firefox", ["-start-debugger-server*", "--headless"]],
      ["Microsoft Edge", ["--load-extension=*", "--headless*"]],
      ["Brave Browser", ["--load-extension=*"]],
      ["node", ["--inspect=0.0.0.0:*", "-e", "--eval"]],
      ["java", ["-javaagent:*", "-agentlib:jdwp*"]],
      ["Discord", ["--inspect*"]],
    ],
    make: ([name, args]) => ({
      name: `${name} started with debugging or injection flags`,
      severity: "medium",
      query: `process where ${START} and process.name like~ ${q(name)} and process.args like~ ${list(args)} and\n  not process.parent.name : ("Xcode", "Visual Studio Code", "node")`,
    }),
  },
  {
    tactic: ["TA0006", "Credential Access"],
    params: [
      [["cat", "cp", "head", "tail", "less", "strings"], ["*/Library/Keychains/*.keychain-db", "*/Library/Keychains/login.keychain*"]],
      [["cat", "cp", "sqlite3"], ["*/Library/Application Support/Google/Chrome/*/Login Data*", "*/Library/Cookies/Cookies.binarycookies"]],
      [["cat", "cp", "python3"], ["*/.aws/credentials", "*/.config/gcloud/*", "*/.azure/*"]],
      [["cat", "cp", "tar", "zip"], ["*/.ssh/id_*", "*/.gnupg/*"]],
      [["cat", "cp"], ["*/Library/Application Support/*/wallet.dat", "*/Library/Application Support/Exodus/*"]],
      [["plutil", "defaults"], ["*/Library/Preferences/com.apple.airport.preferences.plist"]],
      [["cat", "strings"], ["/private/var/db/dslocal/nodes/Default/users/*.plist"]],
    ],
    make: ([names, paths], i) => ({
      name: `Credential file read ${i + 1}`,
      severity: "high",
      query: `process where ${START} and process.name : ${list(names)} and process.args : ${list(paths)} and\n  not process.parent.executable like~ ("/usr/libexec/*", "/System/Library/*")`,
    }),
  },
];

const BASE = families.reduce((n, f) => n + f.params.length, 0);

// Values a variant (beyond the base corpus) swaps into process names and paths, so that scaled rule sets differ
// in the values a rule index keys on, as real rule sets do.
const VARIANT_WORDS = [
  "acmeagent", "bluetool", "cloudsync", "datahelper", "edgeproxy", "fleetd", "gridctl", "hostmon", "infoscan",
  "jobrunner", "keyhelper", "logshipper", "metricsd", "netwatch", "opsbot", "pkgsync", "queryd", "relayd",
  "scanlet", "taskd", "updater", "vaultd", "webhook", "xferd", "yardctl", "zoneinfo",
];

function variantOf(query, k) {
  const word = `${VARIANT_WORDS[k % VARIANT_WORDS.length]}${Math.floor(k / VARIANT_WORDS.length) || ""}`;
  // Replace the first quoted process name (or path) with a distinct value; the shape of the rule stays the same.
  let replaced = false;
  return query.replace(/process\.name (:|==|like~|in) (\(?)"([^"]+)"/, (m, op, paren) => {
    replaced = true;
    return `process.name ${op} ${paren}"${word}"`;
  }).replace(/file\.path : \("([^"]*)"/, (m, first) => (replaced ? m : `file.path : ("/Library/${word}/${first.split("/").pop()}"`));
}

function ruleIdFor(i) {
  // Deterministic UUID-shaped id (version 4 layout), unique per index.
  const hex = (i + 1).toString(16).padStart(12, "0");
  return `6d61636f-7362-4e63-8800-${hex}`;
}

function tomlString(s) {
  return JSON.stringify(s);
}

function toToml({ ruleId, name, severity, query, tactic }) {
  const risk = { low: 21, medium: 47, high: 73, critical: 99 }[severity];
  if (query.includes("'''")) throw new Error(`corpus rule ${name}: query may not contain '''`);
  return `[metadata]
creation_date = "2026/12/07"
integration = ["endpoint"]
maturity = "production"
updated_date = "2026/12/07"

[rule]
author = ["macsensor bench corpus"]
description = ${tomlString(`Benchmark corpus rule in the shape of Elastic's macOS EQL rules: ${name}.`)}
from = "now-9m"
index = ["logs-endpoint.events.process*", "logs-endpoint.events.file*", "logs-endpoint.events.network*"]
language = "eql"
license = "Apache-2.0"
name = ${tomlString(name)}
risk_score = ${risk}
rule_id = "${ruleId}"
severity = "${severity}"
tags = ["Domain: Endpoint", "OS: macOS", "Use Case: Threat Detection", "Tactic: ${tactic[1]}", "Data Source: macsensor"]
type = "eql"
version = 1

query = '''
${query}
'''

[[rule.threat]]
framework = "MITRE ATT&CK"

[rule.threat.tactic]
id = "${tactic[0]}"
name = "${tactic[1]}"
reference = "https://attack.mitre.org/tactics/${tactic[0]}/"
`;
}

/** The corpus: `count` rules (default 145); the first 145 are always the same. */
export function macosRules(count = MACOS_RULE_COUNT) {
  // Round-robin over the families, so that the first 145 hold every family.
  const base = [];
  const longest = Math.max(...families.map((f) => f.params.length));
  for (let i = 0; i < longest; i++) {
    for (const family of families) {
      if (i < family.params.length) base.push({ ...family.make(family.params[i], i), tactic: family.tactic });
    }
  }
  const out = [];
  for (let i = 0; i < count; i++) {
    const round = Math.floor(i / MACOS_RULE_COUNT);
    const b = base[i % MACOS_RULE_COUNT];
    const query = round === 0 ? b.query : variantOf(b.query, i);
    const name = round === 0 ? b.name : `${b.name} (variant ${round})`;
    const ruleId = ruleIdFor(i);
    const rule = { ...b, ruleId, name, query };
    out.push({ fileName: `rule_${String(i + 1).padStart(4, "0")}.toml`, ruleId, name, query, toml: toToml(rule) });
  }
  return out;
}

/** Writes `count` rules as .toml files into `dir` (created if missing); returns the file paths. */
export function writeMacosRules(dir, count = MACOS_RULE_COUNT) {
  mkdirSync(dir, { recursive: true });
  return macosRules(count).map((r) => {
    const path = join(dir, r.fileName);
    writeFileSync(path, r.toml);
    return path;
  });
}

if (BASE < MACOS_RULE_COUNT) throw new Error(`corpus has ${BASE} base rules, fewer than ${MACOS_RULE_COUNT}`);
