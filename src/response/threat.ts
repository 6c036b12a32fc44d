/**
 * `threat.*` of an alert from a rule's [[rule.threat]] tables, in ECS's array form: one object whose fields are
 * parallel arrays (threat.tactic.id[i] goes with threat.tactic.name[i] and threat.tactic.reference[i]),
 * each id once. An absent MITRE reference is filled with the attack.mitre.org URL of the id.
 */
import type { ThreatEntry, ThreatReference } from "../rules/ruleMetadata.js";

export interface ThreatColumns {
  id: string[];
  name: string[];
  reference: string[];
}

export interface ThreatFields {
  framework: string | string[];
  tactic: ThreatColumns;
  technique?: ThreatColumns & { subtechnique?: ThreatColumns };
}

const MITRE = "MITRE ATT&CK";

function mitreReference(id: string): string {
  if (/^TA\d{4}$/.test(id)) return `https://attack.mitre.org/tactics/${id}/`;
  const technique = /^(T\d{4})(?:\.(\d{3}))?$/.exec(id);
  if (technique === null) return "";
  return technique[2] === undefined
    ? `https://attack.mitre.org/techniques/${technique[1]}/`
    : `https://attack.mitre.org/techniques/${technique[1]}/${technique[2]}/`;
}

class Columns {
  readonly columns: ThreatColumns = { id: [], name: [], reference: [] };
  private readonly seen = new Set<string>();
  add(ref: ThreatReference, framework: string): void {
    if (this.seen.has(ref.id)) return;
    this.seen.add(ref.id);
    this.columns.id.push(ref.id);
    this.columns.name.push(ref.name);
    this.columns.reference.push(ref.reference ?? (framework === MITRE ? mitreReference(ref.id) : ""));
  }
  get empty(): boolean {
    return this.seen.size === 0;
  }
}

/** The alert's `threat` object, or undefined when the rule names no threat. */
export function threatFields(entries: readonly ThreatEntry[]): ThreatFields | undefined {
  if (entries.length === 0) return undefined;
  const frameworks: string[] = [];
  const tactics = new Columns();
  const techniques = new Columns();
  const subtechniques = new Columns();
  for (const entry of entries) {
    if (!frameworks.includes(entry.framework)) frameworks.push(entry.framework);
    tactics.add(entry.tactic, entry.framework);
    for (const technique of entry.technique) {
      techniques.add(technique, entry.framework);
      for (const sub of technique.subtechnique) subtechniques.add(sub, entry.framework);
    }
  }
  const threat: ThreatFields = { framework: frameworks.length === 1 ? frameworks[0] : frameworks, tactic: tactics.columns };
  if (!techniques.empty) {
    threat.technique = subtechniques.empty ? techniques.columns : { ...techniques.columns, subtechnique: subtechniques.columns };
  }
  return threat;
}
