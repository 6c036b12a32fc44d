import { describe, expect, it } from "vitest";

import { parseQuery } from "../../src/eql/index.js";
import { execAllowsCacheable, isIdentityField } from "../../src/sensor/esAuthCache.js";

const cacheable = (...eql: string[]): boolean => execAllowsCacheable(eql.map((e) => parseQuery(e)));

describe("execAllowsCacheable", () => {
  it("identity-only exec rules allow caching: path, name, code signature, hashes, host-constant event fields", () => {
    expect(cacheable('process where event.type == "start" and process.name : ("nc", "ncat")')).toBe(true);
    expect(cacheable('process where process.executable like "/Users/*/Downloads/*"')).toBe(true);
    expect(cacheable('process where process.code_signature.team_id == "X" and not process.code_signature.trusted')).toBe(true);
    expect(cacheable('process where process.hash.cdhash == "ab12" or startsWith(process.code_signature.signing_id, "evil.")')).toBe(true);
    expect(cacheable('process where host.os.type == "macos" and length(process.name) > 40')).toBe(true);
  });

  it("anything that can differ between two execs of one file keeps cache=false", () => {
    expect(cacheable('process where process.args == "dump-keychain"')).toBe(false);
    expect(cacheable('process where process.name == "nc" and process.command_line : "*-e*"')).toBe(false);
    expect(cacheable('process where process.name == "curl" and process.parent.name == "bash"')).toBe(false);
    expect(cacheable('process where process.name == "sudo" and user.name == "bob"')).toBe(false);
    expect(cacheable('process where process.env_vars : "DYLD_INSERT_LIBRARIES=*"')).toBe(false);
    expect(cacheable('process where process.working_directory == "/tmp"')).toBe(false);
    expect(cacheable('process where process.code_signature.flags == "0"')).toBe(false);
    expect(cacheable('process where process.name == "nc" | head 1')).toBe(false);
    expect(cacheable('sequence [process where process.name == "a"] [process where process.name == "b"]')).toBe(false);
  });

  it("one non-identity exec rule is enough to turn caching off; rules that never see an exec do not count", () => {
    expect(cacheable('process where process.name == "nc"', 'process where process.args == "-e"')).toBe(false);
    expect(cacheable('process where process.name == "nc"', 'file where file.path == "/etc/sudoers"')).toBe(true);
  });

  it("the field set is exact: no prefix match beyond process.hash.*", () => {
    expect(isIdentityField("process.hash.sha256")).toBe(true);
    expect(isIdentityField("process.name")).toBe(true);
    expect(isIdentityField("process.name.text")).toBe(false);
    expect(isIdentityField("process.parent.executable")).toBe(false);
    expect(isIdentityField("process.pid")).toBe(false);
  });
});
