import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { siteContext } from '../../../../shared/dialplan/rules';
import type { SiteRow } from '../../../../shared/dialplan/model';
import { unifiedDiff } from '../../../../shared/sbc/diff';
import { parseRunningConfig } from '../../../../shared/sbc/running-config';
import {
  checkTemplate,
  defaultTemplates,
  renderTemplate,
  RenderError,
  templateNames,
} from '../../../../shared/sbc/templates';
import * as values from '../../../../shared/sbc/values';
import { executeScript, runningConfig } from '../../../../dev/sbc/cli';
import { addDialPlan, createSbcState } from '../../../../dev/sbc/state';

const site: SiteRow = {
  sbcId: 'sbc1',
  id: 'contoso',
  customerId: 'contoso',
  configuration: 'sip-trunk',
  trunkFqdn: 'contoso.customers.provider.example',
  ruleName: 'contoso',
  dialPlan: 'Customers',
  carrierId: 'Carrier',
  cacProfile: 'Gold',
  carrier: {
    userName: 'contoso-sip',
    hostName: 'sip.carrier.example',
    mainLine: '+3120555000',
    passwordSecret: 'x',
  },
  prefixes: [
    { prefix: '+3120555', tag: 'contoso.customers.provider.example' },
    { prefix: '+31205[10-19]', tag: 'contoso.customers.provider.example' },
  ],
  sbcState: 'pending',
  microsoftState: 'manual-step-pending',
  createdAt: '2026-11-30T00:00:00Z',
  updatedAt: '2026-11-30T00:00:00Z',
};

describe('shipped templates', () => {
  it('all pass the save check, in the final syntax', () => {
    for (const name of templateNames) {
      expect(checkTemplate(name, defaultTemplates[name]), name).toEqual([]);
      expect(defaultTemplates[name]).not.toContain('SysAdmin');
    }
  });

  it('deploy a site onto a device: IP groups, SIP account, rules with indexes', () => {
    const state = createSbcState();
    addDialPlan(state, 'Customers');
    const script = renderTemplate('sbc-scenario7', defaultTemplates['sbc-scenario7'], {
      ...siteContext(site, { carrierPassword: 'pa55!word' }),
    });
    const result = executeScript(state, script);
    expect(result).toMatchObject({ ok: true });
    const device = parseRunningConfig(runningConfig(state));
    expect([...device.ipGroups]).toEqual(['contoso-c', 'contoso-t']);
    expect([...device.sipAccounts]).toEqual(['contoso']);
    expect(device.dialPlans.get('Customers')).toEqual([
      { index: 0, name: 'contoso', prefix: '+3120555', tag: 'contoso.customers.provider.example' },
      { index: 1, name: 'contoso', prefix: '+31205[10-19]', tag: 'contoso.customers.provider.example' },
    ]);
    // The running configuration never prints the carrier password back.
    expect(runningConfig(state)).not.toContain('pa55!word');
    expect(state.saveNeeded).toBe(false);
  });
});

describe('saving a template', () => {
  it('refuses one that does not compile', () => {
    const problems = checkTemplate(
      'sbc-add-prefix',
      'configure voip\n{{#each CmdData.DialPlanRules.ToAdd}}\ndo write',
    );
    expect(problems[0]?.message).toMatch(/Does not compile/);
  });

  it('refuses the deprecated gateway name with the hint for its successor', () => {
    const source = defaultTemplates['sbc-scenario7'].replace(
      'local-host-name "{{SBC.OnlinePstnGateway}}"',
      'local-host-name "{{SysAdmin.O365OnlinePSTNGateway}}"',
    );
    const problems = checkTemplate('sbc-scenario7', source);
    expect(problems).toContainEqual(
      expect.objectContaining({
        message: 'Unknown variable SysAdmin.O365OnlinePSTNGateway.',
        hint: 'SysAdmin.O365OnlinePSTNGateway was renamed: use SBC.OnlinePstnGateway.',
        line: 15,
      }),
    );
  });

  it('refuses unknown variables, helpers, and a template missing a required variable', () => {
    expect(
      checkTemplate('sbc-add-prefix', 'configure voip\nname "{{Nope}}"\ndo write').map((p) => p.message),
    ).toEqual([
      'Unknown variable Nope.',
      'Misses the required variable CustDialPlanName.',
      'Misses the required variable CmdData.DialPlanRules.ToAdd[].Prefix.',
    ]);
    expect(
      checkTemplate(
        'sbc-remove-prefix',
        defaultTemplates['sbc-remove-prefix'].replace('{{this.Index}}', '{{lookup this "Index"}}'),
      ),
    ).not.toEqual([]);
    expect(checkTemplate('sbc-remove-prefix', '{{> partial}}')).not.toEqual([]);
    // A list item's fields are known inside the list only.
    expect(
      checkTemplate(
        'sbc-add-prefix',
        defaultTemplates['sbc-add-prefix'].replace('{{this.Prefix}}', '{{Prefix}}'),
      ),
    ).toEqual([]);
    expect(checkTemplate('sbc-add-prefix', defaultTemplates['sbc-add-prefix'] + '{{Prefix}}\n')).not.toEqual(
      [],
    );
  });
});

describe('rendering cannot be abused', () => {
  const attacks = [
    'x"\nno ip-group where name "other-c',
    'x\r\nconfigure voip',
    "x'; Remove-CsOnlinePSTNGateway -Identity 'y",
    'x\\"',
    'x\u2028do write',
    'x`$(whoami)',
  ];
  const fields: ((s: SiteRow, v: string) => SiteRow)[] = [
    (s, v) => ({ ...s, customerId: v }),
    (s, v) => ({ ...s, trunkFqdn: v }),
    (s, v) => ({ ...s, ruleName: v }),
    (s, v) => ({ ...s, dialPlan: v }),
    (s, v) => ({ ...s, carrierId: v }),
    (s, v) => ({ ...s, cacProfile: v }),
    (s, v) => ({ ...s, carrier: { ...s.carrier!, userName: v } }),
    (s, v) => ({ ...s, carrier: { ...s.carrier!, hostName: v } }),
    (s, v) => ({ ...s, carrier: { ...s.carrier!, mainLine: v } }),
    (s, v) => ({ ...s, prefixes: [{ prefix: v, tag: 't' }] }),
    (s, v) => ({ ...s, prefixes: [{ prefix: '1', tag: v }] }),
  ];

  it('refuses every injection attempt in every field, in every template, rendering nothing', () => {
    for (const name of templateNames) {
      for (const [i, set] of fields.entries()) {
        for (const attack of attacks) {
          const context = siteContext(set(site, attack), {
            toAdd: set(site, attack).prefixes,
            carrierPassword: 'ok',
          });
          let out: string | undefined;
          try {
            out = renderTemplate(name, defaultTemplates[name], context);
          } catch (e) {
            expect(e, `${name} field ${i}`).toBeInstanceOf(RenderError);
          }
          expect(out, `${name} field ${i} ${JSON.stringify(attack)}`).toBeUndefined();
        }
        for (const attack of attacks) {
          expect(() =>
            renderTemplate(name, defaultTemplates[name], siteContext(site, { carrierPassword: attack })),
          ).toThrow(RenderError);
        }
      }
    }
  });

  it('types every value: what a validator accepts can never end a quoted value or a line', () => {
    const schemas = [
      values.ruleName,
      values.prefix,
      values.tag(64),
      values.fqdn,
      values.cliName,
      values.customerName,
      values.carrierUser,
      values.carrierPassword,
    ];
    fc.assert(
      fc.property(fc.string({ unit: 'binary', maxLength: 60 }), fc.constantFrom(...schemas), (s, schema) => {
        const parsed = schema.safeParse(s);
        if (parsed.success) expect(/["'\\`$\r\n\u2028\u2029]/.test(String(parsed.data))).toBe(false);
      }),
      { numRuns: 3000 },
    );
  });

  it('knows the dial-plan syntax and the SBC limits', () => {
    for (const ok of ['+3120555', '0[2-9]xxxxxxx', '00*', '[123-130,455]#', 'z.n', 'x'.repeat(50)])
      expect(values.prefix.safeParse(ok).success, ok).toBe(true);
    for (const bad of ['', 'abc', '[12-3]', '[130-123]', '1 2', 'x'.repeat(51), '12"'])
      expect(values.prefix.safeParse(bad).success, bad).toBe(false);
    expect(values.ruleName.safeParse('a'.repeat(15)).success).toBe(true);
    expect(values.ruleName.safeParse('a'.repeat(16)).success).toBe(false);
    expect(values.tag(64).safeParse('Trunk=contoso.customers.example;Region=eu').success).toBe(true);
    expect(values.tag(16).safeParse('Trunk=contoso.customers.example').success).toBe(false);
    expect(values.tag(64).safeParse('a=b;;').success).toBe(false);
  });

  it('fails the render of a variable the context does not have (strict)', () => {
    expect(() =>
      renderTemplate('sbc-add-prefix', defaultTemplates['sbc-add-prefix'], { CustDialPlanName: 'x' }),
    ).toThrow(RenderError);
  });
});

describe('template comparison', () => {
  it('is a unified diff with context', () => {
    const lines = ['configure voip', 'a', 'b', 'c', 'd', 'e', 'f', 'g', 'h', 'i', 'j', 'do write'];
    const a = lines.join('\n');
    const b = lines.map((l) => (l === 'b' ? 'B' : l)).join('\n') + '\n';
    expect(unifiedDiff(a, b.replace('\ndo write', '\nk\ndo write').trimEnd(), 'v1', 'v2')).toBe(
      [
        '--- v1',
        '+++ v2',
        '@@ -1,6 +1,6 @@',
        ' configure voip',
        ' a',
        '-b',
        '+B',
        ' c',
        ' d',
        ' e',
        '@@ -9,4 +9,5 @@',
        ' h',
        ' i',
        ' j',
        '+k',
        ' do write',
        '',
      ].join('\n'),
    );
    expect(unifiedDiff(a, a, 'v1', 'v2')).toBe('');
  });
});
