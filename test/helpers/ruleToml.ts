const RISK_SCORE = { medium: 47, high: 73 } as const;

/** An EQL rule file with the fields the loader needs; its name (default `Rule <id>`) is also its description. */
export function ruleToml(ruleId: string, query: string, options: { name?: string; severity?: keyof typeof RISK_SCORE } = {}): string {
  const { name = `Rule ${ruleId}`, severity = "medium" } = options;
  return `[metadata]
creation_date = "2026/12/07"
maturity = "production"
updated_date = "2026/12/07"

[rule]
author = ["macsensor tests"]
description = "${name}"
language = "eql"
license = "Apache-2.0"
name = "${name}"
risk_score = ${RISK_SCORE[severity]}
rule_id = "${ruleId}"
severity = "${severity}"
type = "eql"
query = '''
${query}
'''
`;
}
