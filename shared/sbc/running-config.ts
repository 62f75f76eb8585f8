/**
 * Reads the device's running configuration (`GET /api/v1/files/cliScript`) into what dial-plan work
 * needs: IP group and SIP account names, and each dial plan's rules with their indexes. The layout of
 * tables in that file (`ip-group <i>`, `sbc dial-plan <i>`, `sbc dial-plan-rule <plan>/<rule>`, each
 * with `name "…"` lines and closed by `exit`) is assumed: see dev/sbc/README.md.
 */
export interface DeviceRule {
  index: number;
  name: string;
  prefix: string;
  tag: string;
}

export interface DeviceConfig {
  ipGroups: Set<string>;
  sipAccounts: Set<string>;
  /** Keyed by dial-plan name. */
  dialPlans: Map<string, DeviceRule[]>;
}

export function parseRunningConfig(text: string): DeviceConfig {
  const config: DeviceConfig = { ipGroups: new Set(), sipAccounts: new Set(), dialPlans: new Map() };
  const planNames = new Map<string, string>();
  const rules: { plan: string; rule: DeviceRule }[] = [];
  let block: { kind: string; id: string; fields: Map<string, string> } | undefined;
  for (const raw of text.split(/\r?\n/)) {
    const line = raw.trim();
    const head = /^(ip-group|sip-definition account|sbc dial-plan-rule|sbc dial-plan) (\S+)$/.exec(line);
    if (head && !block) {
      block = { kind: head[1] ?? '', id: head[2] ?? '', fields: new Map() };
      continue;
    }
    if (!block) continue;
    if (line === 'exit') {
      const f = block.fields;
      if (block.kind === 'ip-group' && f.has('name')) config.ipGroups.add(f.get('name') ?? '');
      if (block.kind === 'sip-definition account' && f.has('account-name'))
        config.sipAccounts.add(f.get('account-name') ?? '');
      if (block.kind === 'sbc dial-plan' && f.has('name')) planNames.set(block.id, f.get('name') ?? '');
      if (block.kind === 'sbc dial-plan-rule') {
        const [plan, index] = block.id.split('/');
        rules.push({
          plan: plan ?? '',
          rule: {
            index: Number(index),
            name: f.get('name') ?? '',
            prefix: f.get('prefix') ?? '',
            tag: f.get('tag') ?? '',
          },
        });
      }
      block = undefined;
      continue;
    }
    const field = /^([a-z][a-z0-9-]*) (?:"([^"]*)"|(\S+))$/.exec(line);
    if (field) block.fields.set(field[1] ?? '', field[2] ?? field[3] ?? '');
  }
  for (const name of planNames.values()) config.dialPlans.set(name, []);
  for (const { plan, rule } of rules) {
    const name = planNames.get(plan);
    if (name !== undefined) config.dialPlans.get(name)?.push(rule);
  }
  return config;
}
