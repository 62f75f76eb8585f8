import type { DeviceConfig, DeviceRule } from '../sbc/running-config';
import type { TemplateName } from '../sbc/templates';
import type { ChangeRow, Effect, PrefixRule, SiteRow } from './model';

/**
 * The dial-plan capability's pure decisions (unit-tested): how the changes pending for one SBC
 * coalesce into one incremental script, what each change does on the device (to tell, after a push
 * that may or may not have landed, whether it applied), and the variables a site gives a template.
 */

/** What the pending changes of one site add up to, in the order they were made. */
export interface SiteIntent {
  siteId: string;
  deploy: boolean;
  cleanup: boolean;
  add: Map<string, string>;
  remove: Set<string>;
}

/**
 * Folds a site's changes, oldest first: the last word on each prefix wins (added then removed is
 * removed), a cleanup drops everything asked before it, a deploy after a cleanup deploys again.
 */
export function coalesce(changes: ChangeRow[]): SiteIntent[] {
  const bySite = new Map<string, SiteIntent>();
  for (const c of [...changes].sort((a, b) => a.id.localeCompare(b.id))) {
    let i = bySite.get(c.siteId);
    if (!i) {
      i = { siteId: c.siteId, deploy: false, cleanup: false, add: new Map(), remove: new Set() };
      bySite.set(c.siteId, i);
    }
    switch (c.kind) {
      case 'cleanup':
        Object.assign(i, { deploy: false, cleanup: true, add: new Map(), remove: new Set() });
        break;
      case 'deploy':
        i.deploy = true;
        i.cleanup = false;
        for (const p of c.prefixes) {
          i.add.set(p.prefix, p.tag);
          i.remove.delete(p.prefix);
        }
        break;
      case 'add-prefixes':
        for (const p of c.prefixes) {
          i.add.set(p.prefix, p.tag);
          i.remove.delete(p.prefix);
        }
        break;
      case 'remove-prefixes':
        for (const p of c.prefixes) {
          i.add.delete(p.prefix);
          i.remove.add(p.prefix);
        }
        break;
    }
  }
  return [...bySite.values()];
}

const rulesOf = (site: SiteRow, device: DeviceConfig): DeviceRule[] =>
  (device.dialPlans.get(site.dialPlan) ?? []).filter(
    (r) => r.name.toLowerCase() === site.ruleName.toLowerCase(),
  );

/** One template to render for one site, with the data it needs beyond the site itself. */
export interface Section {
  template: TemplateName;
  siteId: string;
  rules?: PrefixRule[];
  toAdd?: PrefixRule[];
  toRemove?: DeviceRule[];
}

/**
 * The sections that bring the device from what it has to what the intents ask, and nothing it
 * already has: a re-run after a push that landed (storage failed before we recorded it) renders
 * nothing, so no rule is ever added twice.
 */
export function planSections(
  intents: SiteIntent[],
  sites: Map<string, SiteRow>,
  device: DeviceConfig,
): Section[] {
  const sections: Section[] = [];
  for (const intent of intents) {
    const site = sites.get(intent.siteId);
    if (!site) continue;
    const onDevice = rulesOf(site, device);
    const has = (prefix: string) => onDevice.some((r) => r.prefix === prefix);
    const groups = [`${site.customerId}-c`, `${site.customerId}-t`].filter((g) =>
      device.ipGroups.has(g),
    ).length;
    const account = device.sipAccounts.has(site.customerId);
    if (intent.cleanup) {
      if (groups > 0 || account || onDevice.length > 0)
        sections.push({ template: 'sbc-scenario7Cleanup', siteId: site.id });
      continue;
    }
    const toAdd = [...intent.add].filter(([p]) => !has(p)).map(([prefix, tag]) => ({ prefix, tag }));
    const toRemove = onDevice.filter((r) => intent.remove.has(r.prefix));
    if (intent.deploy && groups < 2) {
      // A half-deployed site (a refused script stopped in the middle) is cleared first, then deployed whole.
      if (groups > 0 || account) {
        sections.push({ template: 'sbc-scenario7Cleanup', siteId: site.id });
        sections.push({
          template: 'sbc-scenario7',
          siteId: site.id,
          rules: [...intent.add].map(([prefix, tag]) => ({ prefix, tag })),
        });
      } else {
        sections.push({ template: 'sbc-scenario7', siteId: site.id, rules: toAdd });
      }
      if (toRemove.length > 0 && groups === 0 && !account)
        sections.push({ template: 'sbc-remove-prefix', siteId: site.id, toRemove });
      continue;
    }
    if (toRemove.length > 0) sections.push({ template: 'sbc-remove-prefix', siteId: site.id, toRemove });
    if (toAdd.length > 0) sections.push({ template: 'sbc-add-prefix', siteId: site.id, toAdd });
  }
  return sections;
}

/** What a change does on the device, each thing with whether the device has it now. */
export function effectsOf(change: ChangeRow, site: SiteRow, device: DeviceConfig): Effect[] {
  const onDevice = rulesOf(site, device);
  const rule = (prefix: string) => onDevice.some((r) => r.prefix === prefix);
  const groups = [`${site.customerId}-c`, `${site.customerId}-t`];
  switch (change.kind) {
    case 'deploy':
      return [
        ...groups.map((g) => ({ what: `ip-group ${g}`, present: device.ipGroups.has(g) })),
        ...(site.carrier
          ? [{ what: `sip account ${site.customerId}`, present: device.sipAccounts.has(site.customerId) }]
          : []),
        ...change.prefixes.map((p) => ({
          what: `rule ${site.ruleName} ${p.prefix}`,
          present: rule(p.prefix),
        })),
      ];
    case 'add-prefixes':
      return change.prefixes.map((p) => ({
        what: `rule ${site.ruleName} ${p.prefix}`,
        present: rule(p.prefix),
      }));
    case 'remove-prefixes':
      return change.prefixes.map((p) => ({
        what: `no rule ${site.ruleName} ${p.prefix}`,
        present: !rule(p.prefix),
      }));
    case 'cleanup':
      return [
        ...groups.map((g) => ({ what: `no ip-group ${g}`, present: !device.ipGroups.has(g) })),
        { what: `no sip account ${site.customerId}`, present: !device.sipAccounts.has(site.customerId) },
        { what: `no rules named ${site.ruleName}`, present: onDevice.length === 0 },
      ];
  }
}

/**
 * Whether a change's effects hold, counting those a later pending change of the same site undoes (a
 * prefix added then removed in one batch is never on the device, and that is right).
 */
export function isEffective(change: ChangeRow, effects: Effect[], pending: ChangeRow[]): boolean {
  const after = pending.filter((l) => l.siteId === change.siteId && l.id > change.id);
  if (after.some((l) => l.kind === 'cleanup' || (change.kind === 'cleanup' && l.kind === 'deploy')))
    return true;
  return effects.every(
    (e) => e.present || after.some((l) => l.prefixes.some((p) => e.what.endsWith(` ${p.prefix}`))),
  );
}

/** The variables a site gives every template (the catalogue in shared/sbc/templates.ts). */
export function siteContext(
  site: SiteRow,
  section: Partial<Section> & { carrierPassword?: string },
): Record<string, unknown> {
  const rule = (p: PrefixRule) => ({ Name: site.ruleName, Prefix: p.prefix, Tag: p.tag });
  return {
    CustomerId: site.customerId,
    CustDialPlanName: site.dialPlan,
    SBC: {
      CarrierID: site.carrierId,
      OnlinePstnGateway: site.trunkFqdn,
      EnableCAC: site.cacProfile !== undefined,
      CacProfile: site.cacProfile ?? '',
      FlagCarrierRegistration: site.carrier !== undefined,
      CarrierUserName: site.carrier?.userName ?? '',
      CarrierPassword: section.carrierPassword ?? '',
      CarrierHostName: site.carrier?.hostName ?? '',
      CarrierMainLine: site.carrier?.mainLine ?? '',
      SbcSiteName: site.ruleName,
      DialPlanPrefixes: [
        { CustDialPlanName: site.dialPlan, Rules: (section.rules ?? site.prefixes).map(rule) },
      ],
    },
    CmdData: { DialPlanRules: { ToAdd: (section.toAdd ?? []).map(rule) } },
    ToRemove: (section.toRemove ?? []).map((r) => ({ Index: String(r.index), Prefix: r.prefix })),
  };
}

/**
 * One incremental script from rendered sections: each section's own `configure voip` and `do write`
 * are dropped and the whole is wrapped once, so the device saves its configuration once per push.
 */
export function combineSections(rendered: string[]): string {
  const body = rendered.flatMap((text) => {
    const lines = text.trim().split('\n');
    return lines.slice(lines[0] === 'configure voip' ? 1 : 0, lines.at(-1) === 'do write' ? -1 : undefined);
  });
  return body.length === 0 ? '' : ['configure voip', ...body, 'exit', 'do write', ''].join('\n');
}

/** The customer's derived trunk FQDN: `<customer>.<the provider's customer domain>`. */
export const deriveTrunkFqdn = (customerId: string, domain: string): string =>
  `${customerId}.${domain}`.toLowerCase();

/** A change id that sorts by creation time (the worker's order). */
export const changeId = (at: Date, random: string): string => `${at.toISOString()}-${random}`;

/** Masks passwords in a rendered script or a device transcript (which echoes each line) before it is shown or stored. */
export const maskSecrets = (text: string): string =>
  text.replace(/(password\s+)"[^"\n]*"?/gi, '$1"********"');
