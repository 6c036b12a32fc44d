import { describe, expect, it } from "vitest";
import { parseQuery } from "../../src/eql/index.js";
import { ruleCoverage } from "../../src/rules/coverage.js";

const coverage = (query: string) => ruleCoverage(parseQuery(query));

describe("ruleCoverage", () => {
  it("process and file rules fire; other categories are needed and never fire", () => {
    expect(coverage('process where process.name == "security"')).toEqual({ needs: ["process"], fires: true });
    expect(coverage('file where file.name == "login.keychain-db"')).toEqual({ needs: ["file"], fires: true });
    expect(coverage('network where destination.port == 22')).toEqual({ needs: ["network"], fires: false, reason: "needs network events, which this sensor does not produce" });
    expect(coverage("any where true")).toEqual({ needs: [], fires: true });
  });

  it("a category the sensor produces, with an action it never writes, never fires", () => {
    const c = coverage('file where event.action == "launch_daemon"');
    expect(c.fires).toBe(false);
    expect(c.reason).toMatch(/no file event this sensor produces has the event\.action/);
    expect(coverage('file where event.type in ("creation", "change")').fires).toBe(true);
  });

  it("sequences need every stage that must be seen; missing stages need nothing", () => {
    expect(coverage('sequence by process.entity_id [process where true] [file where true]')).toEqual({ needs: ["file", "process"], fires: true });
    expect(coverage('sequence by process.entity_id [process where true] [network where true]')).toMatchObject({ needs: ["network", "process"], fires: false });
    expect(coverage('sequence by process.entity_id [process where true] ![network where true]')).toEqual({ needs: ["process"], fires: true });
    expect(coverage('sequence by host.id [library where true] [registry where true]').reason).toBe("needs library and registry events, which this sensor does not produce");
  });

  it("on a sensor whose host is another OS than the rule's host.os.type names, a rule never fires", () => {
    const macOnly = parseQuery('process where host.os.type == "macos" and event.type == "start" and process.name == "security"');
    expect(ruleCoverage(macOnly, { hostOsType: "linux" })).toEqual({ needs: ["process"], fires: false, reason: "its host.os.type condition excludes this sensor's host (linux)" });
    expect(ruleCoverage(macOnly, { hostOsType: "macos" })).toEqual({ needs: ["process"], fires: true });
    expect(ruleCoverage(macOnly)).toEqual({ needs: ["process"], fires: true });
    const either = parseQuery('sequence [process where host.os.type == "linux"] [file where host.os.type == "macos"]');
    expect(ruleCoverage(either, { hostOsType: "linux" }).fires).toBe(false);
    // An action the sensor never writes is still named as such.
    expect(ruleCoverage(parseQuery('file where event.action == "launch_daemon"'), { hostOsType: "linux" }).reason).toMatch(/event\.action/);
  });
});
