import Handlebars from 'handlebars';
import { UNSAFE_IN_CLI } from './values';

/**
 * The script templates: the four SBC CLI scripts of the UMP-365 upgrade guide (LTRT-26724, appendix
 * "Script Templates Updates", 8.0.300 syntax: `SBC.OnlinePstnGateway`, never the deprecated
 * `SysAdmin.O365OnlinePSTNGateway`), and the PowerShell for the Microsoft side of a site that Graph
 * cannot do. Templates are Handlebars restricted to `if`, `unless` and `each`; every variable they
 * name must be in the catalogue below (checked when a template is saved, not when it runs), and a
 * render refuses any value that could end a quoted string or a line.
 */
export type TemplateName =
  'sbc-scenario7' | 'sbc-scenario7Cleanup' | 'sbc-add-prefix' | 'sbc-remove-prefix' | 'teams-direct-routing';
export const templateNames: TemplateName[] = [
  'sbc-scenario7',
  'sbc-scenario7Cleanup',
  'sbc-add-prefix',
  'sbc-remove-prefix',
  'teams-direct-routing',
];
export type TemplateLanguage = 'cli' | 'powershell';
export const languageOf = (name: TemplateName): TemplateLanguage =>
  name === 'teams-direct-routing' ? 'powershell' : 'cli';

type VarType = 'value' | 'flag' | { list: Catalogue } | { object: Catalogue };
interface Catalogue {
  [name: string]: VarType;
}

const rule: Catalogue = { Name: 'value', Prefix: 'value', Tag: 'value' };
/** Every variable a template may name, and its shape. */
export const catalogue: Catalogue = {
  CustomerId: 'value',
  CustDialPlanName: 'value',
  SBC: {
    object: {
      CarrierID: 'value',
      OnlinePstnGateway: 'value',
      EnableCAC: 'flag',
      CacProfile: 'value',
      FlagCarrierRegistration: 'flag',
      CarrierUserName: 'value',
      CarrierPassword: 'value',
      CarrierHostName: 'value',
      CarrierMainLine: 'value',
      SbcSiteName: 'value',
      DialPlanPrefixes: { list: { CustDialPlanName: 'value', Rules: { list: rule } } },
    },
  },
  CmdData: { object: { DialPlanRules: { object: { ToAdd: { list: rule } } } } },
  ToRemove: { list: { Index: 'value', Prefix: 'value' } },
};

/** Names the seeds used before 8.0.300, with what replaces them. */
const deprecated: Record<string, string> = {
  'SysAdmin.O365OnlinePSTNGateway': 'SBC.OnlinePstnGateway',
};

/** What each template must name to do its job. */
export const requiredVariables: Record<TemplateName, string[]> = {
  'sbc-scenario7': ['CustomerId', 'SBC.OnlinePstnGateway', 'SBC.DialPlanPrefixes[].Rules[].Prefix'],
  'sbc-scenario7Cleanup': ['CustomerId', 'SBC.DialPlanPrefixes'],
  'sbc-add-prefix': ['CustDialPlanName', 'CmdData.DialPlanRules.ToAdd[].Prefix'],
  'sbc-remove-prefix': ['CustDialPlanName', 'ToRemove[].Index'],
  'teams-direct-routing': ['SBC.OnlinePstnGateway'],
};

export interface TemplateProblem {
  message: string;
  line?: number;
  hint?: string;
}

/** Compiles, resolves every variable against the catalogue and checks the required ones; [] when it may be saved. */
export function checkTemplate(name: TemplateName, source: string): TemplateProblem[] {
  let ast: hbs.AST.Program;
  try {
    ast = Handlebars.parse(source);
  } catch (e) {
    return [{ message: `Does not compile: ${e instanceof Error ? e.message.split('\n')[0] : String(e)}` }];
  }
  const problems: TemplateProblem[] = [];
  const used = new Set<string>();
  walk(ast, [{ type: { object: catalogue }, path: '' }], problems, used);
  for (const required of requiredVariables[name]) {
    if (!used.has(required)) problems.push({ message: `Misses the required variable ${required}.` });
  }
  const lines = source.trim().split('\n');
  if (languageOf(name) === 'cli') {
    if (lines[0]?.trim() !== 'configure voip')
      problems.push({ message: 'Must start with "configure voip".', line: 1 });
    if (lines.at(-1)?.trim() !== 'do write')
      problems.push({ message: 'Must end with "do write".', line: lines.length });
  }
  return problems;
}

interface Scope {
  type: VarType;
  /** Absolute path of the scope, with `[]` for list items. */
  path: string;
}

function walk(node: hbs.AST.Node, scopes: Scope[], problems: TemplateProblem[], used: Set<string>): void {
  const line = node.loc?.start.line;
  switch (node.type) {
    case 'Program':
      for (const s of (node as hbs.AST.Program).body) walk(s, scopes, problems, used);
      return;
    case 'ContentStatement':
    case 'CommentStatement':
      return;
    case 'MustacheStatement': {
      const m = node as hbs.AST.MustacheStatement;
      if (m.params.length > 0 || m.hash?.pairs.length) {
        problems.push({ message: 'Helpers are not allowed in a value.', ...(line ? { line } : {}) });
        return;
      }
      const t = resolve(m.path, scopes, problems, used);
      if (t !== undefined && t !== 'value')
        problems.push({ message: `${pathText(m.path)} is not a value.`, ...(line ? { line } : {}) });
      return;
    }
    case 'BlockStatement': {
      const b = node as hbs.AST.BlockStatement;
      const helper = b.path.type === 'PathExpression' ? (b.path as hbs.AST.PathExpression).original : '';
      const target = b.params[0];
      if (!['if', 'unless', 'each'].includes(helper) || b.params.length !== 1 || !target) {
        problems.push({
          message: `Only {{#if x}}, {{#unless x}} and {{#each list}} blocks are allowed.`,
          ...(line ? { line } : {}),
        });
        return;
      }
      const t = resolve(target, scopes, problems, used);
      if (helper === 'each') {
        if (t === undefined) return;
        if (typeof t !== 'object' || !('list' in t)) {
          problems.push({ message: `${pathText(target)} is not a list.`, ...(line ? { line } : {}) });
          return;
        }
        const itemPath = `${absolute(target, scopes)}[]`;
        walk(b.program, [...scopes, { type: { object: t.list }, path: itemPath }], problems, used);
      } else {
        walk(b.program, scopes, problems, used);
      }
      if (b.inverse) walk(b.inverse, scopes, problems, used);
      return;
    }
    default:
      problems.push({ message: `${node.type} is not allowed in a template.`, ...(line ? { line } : {}) });
  }
}

const pathText = (p: hbs.AST.Node): string =>
  p.type === 'PathExpression' ? (p as hbs.AST.PathExpression).original : p.type;

function absolute(p: hbs.AST.Node, scopes: Scope[]): string {
  const path = p as hbs.AST.PathExpression;
  const base = scopes[scopes.length - 1 - path.depth]?.path ?? '';
  return [base, ...path.parts].filter((x) => x !== '').join('.');
}

function resolve(
  p: hbs.AST.Node,
  scopes: Scope[],
  problems: TemplateProblem[],
  used: Set<string>,
): VarType | undefined {
  const line = p.loc?.start.line;
  if (p.type !== 'PathExpression') {
    problems.push({ message: `Only variables may be used here, not ${p.type}.`, ...(line ? { line } : {}) });
    return undefined;
  }
  const path = p as hbs.AST.PathExpression;
  if (path.data) {
    if (['index', 'first', 'last'].includes(path.original.slice(1))) return 'value';
    problems.push({ message: `Unknown variable ${path.original}.`, ...(line ? { line } : {}) });
    return undefined;
  }
  const scope = scopes[scopes.length - 1 - path.depth];
  let type: VarType | undefined = scope?.type;
  for (const part of path.parts) {
    type = typeof type === 'object' && 'object' in type ? type.object[part] : undefined;
  }
  if (type === undefined) {
    const name = path.parts.join('.');
    const replacement = Object.entries(deprecated).find(([old]) => path.original.includes(old))?.[1];
    problems.push({
      message: `Unknown variable ${path.original}.`,
      ...(line ? { line } : {}),
      ...(replacement
        ? { hint: `${name} was renamed: use ${replacement}.` }
        : { hint: `Known here: ${knownNames(scope?.type).join(', ')}.` }),
    });
    return undefined;
  }
  used.add(absolute(p, scopes));
  return type;
}

function knownNames(type: VarType | undefined, prefix = ''): string[] {
  if (typeof type !== 'object' || !('object' in type)) return [];
  return Object.entries(type.object).flatMap(([k, v]) =>
    typeof v === 'object' && 'object' in v ? knownNames(v, `${prefix}${k}.`) : [`${prefix}${k}`],
  );
}

export class RenderError extends Error {}

/** Lines a rendered CLI script may hold: a command's words and quoted values, nothing else. */
const CLI_LINE = /^ *[a-z][a-z0-9-]*(?: +(?:[a-z0-9-]+|"[^"\\]*"))* *$/;
/** Lines of the PowerShell scripts: a comment, or a cmdlet with -Parameters and single-quoted values. */
const PS_LINE =
  /^(?:#[^\r\n]*|[A-Z][A-Za-z]+-[A-Za-z]+(?: +(?:-[A-Za-z]+|'[^'\u2018-\u201b]*'|\$true|\$false|\d+|@\{(?:Add|Remove)='[^'\u2018-\u201b]*'\}))*)$/;

/**
 * Renders a template. Every string in the context is checked first (nothing that ends a quoted value
 * or a line, whatever the caller validated), Handlebars runs in strict mode (an unknown variable fails
 * the render), and every line of the result must still be a plain command.
 */
export function renderTemplate(name: TemplateName, source: string, context: object): string {
  assertSafeValues(context, '');
  let text: string;
  try {
    text = Handlebars.compile(source, {
      strict: true,
      noEscape: true,
      knownHelpersOnly: true,
      knownHelpers: { if: true, unless: true, each: true },
    })(context);
  } catch (e) {
    throw new RenderError(
      `Template ${name} cannot be rendered: ${e instanceof Error ? e.message.split('\n')[0] : String(e)}`,
    );
  }
  const lines = text
    .split('\n')
    .map((l) => l.replace(/\r$/, '').trimEnd())
    .filter((l) => l.trim() !== '');
  const grammar = languageOf(name) === 'cli' ? CLI_LINE : PS_LINE;
  const bad = lines.find((l) => !grammar.test(l.trim()));
  if (bad !== undefined)
    throw new RenderError(`Template ${name} rendered a line that is not a plain command.`);
  return `${lines.map((l) => l.trim()).join('\n')}\n`;
}

function assertSafeValues(value: unknown, path: string): void {
  if (typeof value === 'string') {
    if (UNSAFE_IN_CLI.test(value) || /['\u2018-\u201b`$]/.test(value))
      throw new RenderError(`The value of ${path || 'a variable'} holds a character no script may carry.`);
  } else if (Array.isArray(value)) {
    value.forEach((v, i) => assertSafeValues(v, `${path}[${i}]`));
  } else if (value && typeof value === 'object') {
    for (const [k, v] of Object.entries(value)) assertSafeValues(v, path ? `${path}.${k}` : k);
  }
}

/** The shipped defaults (version 1 of each template). */
export const defaultTemplates: Record<TemplateName, string> = {
  'sbc-scenario7': `configure voip
ip-group new
name "{{CustomerId}}-c"
proxy-set-name "{{SBC.CarrierID}}"
ip-profile-name "{{SBC.CarrierID}}"
tags "Trunk={{SBC.OnlinePstnGateway}}"
classify-by-proxy-set disable
call-setup-rules-set-id 1
activate
exit
ip-group new
name "{{CustomerId}}-t"
proxy-set-name "Teams"
ip-profile-name "Teams"
local-host-name "{{SBC.OnlinePstnGateway}}"
always-use-source-addr enable
tags "Tenant={{SBC.OnlinePstnGateway}}"
classify-by-proxy-set disable
call-setup-rules-set-id 0
{{#if SBC.EnableCAC}}
cac-profile "{{SBC.CacProfile}}"
{{/if}}
activate
exit
{{#if SBC.FlagCarrierRegistration}}
sip-definition account new
account-name "{{CustomerId}}"
served-ip-group-name "{{CustomerId}}-t"
serving-ip-group-name "{{CustomerId}}-c"
user-name "{{SBC.CarrierUserName}}"
password "{{SBC.CarrierPassword}}"
host-name "{{SBC.CarrierHostName}}"
contact-user "{{SBC.CarrierMainLine}}"
register reg
application-type sbc
activate
exit
{{/if}}
{{#each SBC.DialPlanPrefixes}}
sbc dial-plan where name "{{this.CustDialPlanName}}"
{{#each this.Rules}}
dial-plan-rule new
name "{{this.Name}}"
prefix "{{this.Prefix}}"
tag "{{this.Tag}}"
exit
{{/each}}
activate
exit
{{/each}}
do write
`,
  'sbc-scenario7Cleanup': `configure voip
no ip-group where name "{{CustomerId}}-c"
no ip-group where name "{{CustomerId}}-t"
no sip-definition account where account-name "{{CustomerId}}"
{{#each SBC.DialPlanPrefixes}}
sbc dial-plan where name "{{this.CustDialPlanName}}"
no dial-plan-rule where name "{{../SBC.SbcSiteName}}"
activate
exit
{{/each}}
do write
`,
  'sbc-add-prefix': `configure voip
sbc dial-plan where name "{{CustDialPlanName}}"
{{#each CmdData.DialPlanRules.ToAdd}}
dial-plan-rule new
name "{{../SBC.SbcSiteName}}"
prefix "{{this.Prefix}}"
tag "{{this.Tag}}"
exit
{{/each}}
activate
exit
do write
`,
  'sbc-remove-prefix': `configure voip
sbc dial-plan where name "{{CustDialPlanName}}"
{{#each ToRemove}}
no dial-plan-rule "{{this.Index}}"
{{/each}}
activate
exit
do write
`,
  'teams-direct-routing': `# Teams Direct Routing for {{CustomerId}}: run in the customer's tenant (MicrosoftTeams module, Connect-MicrosoftTeams)
New-CsOnlinePSTNGateway -Fqdn '{{SBC.OnlinePstnGateway}}' -SipSignalingPort 5061 -Enabled $true
Set-CsOnlinePstnUsage -Identity 'Global' -Usage @{Add='{{CustomerId}}'}
New-CsOnlineVoiceRoute -Identity '{{CustomerId}}' -NumberPattern '.*' -OnlinePstnGatewayList '{{SBC.OnlinePstnGateway}}' -OnlinePstnUsages '{{CustomerId}}'
New-CsOnlineVoiceRoutingPolicy -Identity '{{CustomerId}}' -OnlinePstnUsages '{{CustomerId}}'
`,
};
