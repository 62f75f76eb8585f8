import { describe, expect, it } from 'vitest';
import type { ChangeRow, SiteRow } from '../../../../shared/dialplan/model';
import {
  coalesce,
  combineSections,
  effectsOf,
  isEffective,
  maskSecrets,
  planSections,
} from '../../../../shared/dialplan/rules';
import type { DeviceConfig } from '../../../../shared/sbc/running-config';

const site: SiteRow = {
  sbcId: 'sbc1',
  id: 'contoso',
  customerId: 'contoso',
  configuration: 'sip-trunk',
  trunkFqdn: 'contoso.example.com',
  ruleName: 'contoso',
  dialPlan: 'Customers',
  carrierId: 'Carrier',
  prefixes: [],
  sbcState: 'deployed',
  microsoftState: 'done',
  createdAt: '',
  updatedAt: '',
};
let n = 0;
const change = (kind: ChangeRow['kind'], prefixes: string[] = [], siteId = 'contoso'): ChangeRow => ({
  sbcId: 'sbc1',
  id: `c${String(n++).padStart(4, '0')}`,
  siteId,
  customerId: siteId,
  kind,
  prefixes: prefixes.map((prefix) => ({ prefix, tag: 't' })),
  status: 'pushing',
  attempts: 1,
  source: 'api',
  actor: 'test',
  createdAt: '',
  updatedAt: '',
});
const device = (rules: [string, string][] = [], groups = ['contoso-c', 'contoso-t']): DeviceConfig => ({
  ipGroups: new Set(groups),
  sipAccounts: new Set(),
  dialPlans: new Map([
    ['Customers', rules.map(([name, prefix], index) => ({ index, name, prefix, tag: 't' }))],
  ]),
});
const sites = new Map([['contoso', site]]);

describe('coalescing the changes pending for one SBC', () => {
  it('keeps the last word on each prefix: added then removed is removed, removed then added is added', () => {
    const [i] = coalesce([
      change('add-prefixes', ['1', '2']),
      change('remove-prefixes', ['1']),
      change('add-prefixes', ['3']),
      change('remove-prefixes', ['3']),
      change('add-prefixes', ['3']),
    ]);
    expect([...i!.add.keys()]).toEqual(['2', '3']);
    expect([...i!.remove]).toEqual(['1']);
  });

  it('lets a cleanup drop what was asked before it', () => {
    const [i] = coalesce([change('deploy', ['1']), change('add-prefixes', ['2']), change('cleanup')]);
    expect(i).toMatchObject({ cleanup: true, deploy: false });
    expect(i!.add.size).toBe(0);
  });

  it('turns 500 prefix changes into one add-prefix section, without what the device already has', () => {
    const changes = Array.from({ length: 500 }, (_, k) => change('add-prefixes', [`+31${k}`]));
    const sections = planSections(coalesce(changes), sites, device([['contoso', '+310']]));
    expect(sections).toHaveLength(1);
    expect(sections[0]).toMatchObject({ template: 'sbc-add-prefix' });
    expect(sections[0]!.toAdd).toHaveLength(499);
  });

  it('renders nothing when the device already has every effect (a push that landed but was not recorded)', () => {
    const pending = [change('add-prefixes', ['1']), change('remove-prefixes', ['9'])];
    expect(planSections(coalesce(pending), sites, device([['contoso', '1']]))).toEqual([]);
  });

  it("removes by the device index, every duplicate included, and never another site's rule", () => {
    const sections = planSections(
      coalesce([change('remove-prefixes', ['1'])]),
      sites,
      device([
        ['contoso', '1'],
        ['other', '1'],
        ['CONTOSO', '1'],
      ]),
    );
    expect(sections[0]!.toRemove!.map((r) => r.index)).toEqual([0, 2]);
  });

  it('clears a half-deployed site before deploying it again', () => {
    const sections = planSections(coalesce([change('deploy', ['1'])]), sites, device([], ['contoso-c']));
    expect(sections.map((s) => s.template)).toEqual(['sbc-scenario7Cleanup', 'sbc-scenario7']);
  });
});

describe('what a change did on the device', () => {
  it('lists each effect with whether the device has it', () => {
    const c = change('add-prefixes', ['1', '2']);
    const effects = effectsOf(c, site, device([['contoso', '1']]));
    expect(effects).toEqual([
      { what: 'rule contoso 1', present: true },
      { what: 'rule contoso 2', present: false },
    ]);
    expect(isEffective(c, effects, [c])).toBe(false);
    // … unless a later pending change removes that prefix again.
    const later = change('remove-prefixes', ['2']);
    expect(isEffective(c, effects, [c, later])).toBe(true);
  });
});

describe('one script per push', () => {
  it('wraps the sections once and saves once', () => {
    const script = combineSections([
      'configure voip\nsbc dial-plan where name "A"\nexit\ndo write\n',
      'configure voip\nno ip-group where name "x-c"\ndo write\n',
    ]);
    expect(script).toBe(
      'configure voip\nsbc dial-plan where name "A"\nexit\nno ip-group where name "x-c"\nexit\ndo write\n',
    );
    expect(combineSections([])).toBe('');
    expect(maskSecrets('password "s3cret"\nuser-name "u"')).toBe('password "********"\nuser-name "u"');
    // The device's transcript echoes each line after its prompt; an error may quote the line.
    expect(maskSecrets('SBC(entry)# password "s3cret"\nError: Invalid command \'password "s3cret x\'')).toBe(
      'SBC(entry)# password "********"\nError: Invalid command \'password "********"',
    );
  });
});
