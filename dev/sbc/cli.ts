import { lowestFree, type DialPlan, type DialPlanRule, type Entry, type SbcState } from './state';

/**
 * The CLI subset the simulated SBC executes from an incremental script, line by line, as the device's
 * CLI does: `configure voip`, `ip-group new|where`, `sip-definition account new|where`,
 * `sbc dial-plan where name "…"`/`new`, `dial-plan-rule new`, `no dial-plan-rule where name "…"`,
 * `no dial-plan-rule <index>`, `activate`, `exit`, `do write`. It stops at the first line it refuses
 * and keeps what the lines before it changed: that is what a refused script does to a device, and
 * what Switchboard must find out and report.
 */
export interface CliResult {
  ok: boolean;
  /** The transcript: each command echoed with the mode's prompt, and the error where it stopped. */
  output: string;
  /** 1-based number of the line it stopped at. */
  errorLine?: number;
  error?: string;
}

export interface CliLimits {
  ruleNameMax: number;
  prefixMax: number;
  tagMax: number;
}

export const DEFAULT_LIMITS: CliLimits = { ruleNameMax: 15, prefixMax: 50, tagMax: 64 };

const PREFIX = /^(?:[0-9xzn*#.+]|\[[0-9]+(?:-[0-9]+)?(?:,[0-9]+(?:-[0-9]+)?)*\])+$/;

class CliError extends Error {}

type Mode =
  | { kind: 'top' }
  | { kind: 'voip' }
  | { kind: 'entry'; table: 'ip-group' | 'account'; fields: Map<string, string>; done: boolean }
  | { kind: 'plan'; plan: DialPlan }
  | { kind: 'new-plan'; fields: Map<string, string>; done: boolean }
  | { kind: 'rule'; plan: DialPlan; fields: Map<string, string>; done: boolean };

/** Words and "quoted strings" (no escapes: a quote ends the string, as on the device). */
export function tokens(line: string): string[] {
  const out: string[] = [];
  const re = /"([^"]*)"|(\S+)/g;
  for (let m = re.exec(line); m; m = re.exec(line)) out.push(m[1] ?? m[2] ?? '');
  if ((line.match(/"/g)?.length ?? 0) % 2 === 1) throw new CliError('Unterminated quoted string');
  return out;
}

export function executeScript(
  state: SbcState,
  script: string,
  limits: CliLimits = DEFAULT_LIMITS,
): CliResult {
  const transcript: string[] = [];
  let mode: Mode = { kind: 'top' };
  const lines = script.split(/\r?\n/);
  const prompt = () =>
    mode.kind === 'top' ? 'SBC#' : mode.kind === 'voip' ? 'SBC(config-voip)#' : `SBC(${mode.kind})#`;
  for (let n = 0; n < lines.length; n++) {
    const line = (lines[n] ?? '').trim();
    if (line === '') continue;
    transcript.push(`${prompt()} ${line}`);
    try {
      mode = step(state, mode, tokens(line), limits);
    } catch (e) {
      const error = e instanceof Error ? e.message : String(e);
      transcript.push(`Error: ${error} (line ${n + 1})`);
      return { ok: false, output: transcript.join('\n'), errorLine: n + 1, error };
    }
  }
  // An entry left open at the end of the script is committed, as `exit` would.
  if (mode.kind === 'entry' || mode.kind === 'rule' || mode.kind === 'new-plan') {
    try {
      commit(state, mode, limits);
    } catch (e) {
      const error = e instanceof Error ? e.message : String(e);
      transcript.push(`Error: ${error}`);
      return { ok: false, output: transcript.join('\n'), errorLine: lines.length, error };
    }
  }
  return { ok: true, output: transcript.join('\n') };
}

function step(state: SbcState, mode: Mode, t: string[], limits: CliLimits): Mode {
  const [a, b, c, d, e] = t;
  if (a === 'do' && b === 'write' && t.length === 2) {
    state.saveNeeded = false;
    state.saves++;
    return mode;
  }
  switch (mode.kind) {
    case 'top':
      if (a === 'configure' && b === 'voip' && t.length === 2) return { kind: 'voip' };
      throw new CliError(`Invalid command '${t.join(' ')}'`);
    case 'voip':
      if (a === 'exit' && t.length === 1) return { kind: 'top' };
      if (a === 'ip-group' && b === 'new' && t.length === 2)
        return { kind: 'entry', table: 'ip-group', fields: new Map(), done: false };
      if (a === 'sip-definition' && b === 'account' && c === 'new' && t.length === 3)
        return { kind: 'entry', table: 'account', fields: new Map(), done: false };
      if (
        a === 'no' &&
        b === 'ip-group' &&
        c === 'where' &&
        d === 'name' &&
        e !== undefined &&
        t.length === 5
      ) {
        removeWhere(state, 'ipGroups', 'name', e);
        return mode;
      }
      if (
        a === 'no' &&
        b === 'sip-definition' &&
        c === 'account' &&
        d === 'where' &&
        t.length === 6 &&
        t[4] === 'account-name'
      ) {
        removeWhere(state, 'sipAccounts', 'account-name', t[5] ?? '');
        return mode;
      }
      if (
        a === 'sbc' &&
        b === 'dial-plan' &&
        c === 'where' &&
        d === 'name' &&
        e !== undefined &&
        t.length === 5
      ) {
        const plan = state.dialPlans.get(e);
        if (!plan) throw new CliError(`No dial-plan where name is "${e}"`);
        return { kind: 'plan', plan };
      }
      if (a === 'sbc' && b === 'dial-plan' && c === 'new' && t.length === 3)
        return { kind: 'new-plan', fields: new Map(), done: false };
      throw new CliError(`Invalid command '${t.join(' ')}'`);
    case 'entry':
    case 'rule':
    case 'new-plan':
      if (a === 'activate' && t.length === 1) {
        if (!mode.done) commit(state, mode, limits);
        mode.done = true;
        return mode;
      }
      if (a === 'exit' && t.length === 1) {
        if (!mode.done) commit(state, mode, limits);
        return mode.kind === 'rule' ? { kind: 'plan', plan: mode.plan } : { kind: 'voip' };
      }
      if (a !== undefined && /^[a-z][a-z0-9-]*$/.test(a) && t.length >= 2) {
        if (mode.done) throw new CliError('The entry is already active; exit first');
        mode.fields.set(a, t.slice(1).join(' '));
        return mode;
      }
      throw new CliError(`Invalid command '${t.join(' ')}'`);
    case 'plan':
      if (a === 'exit' && t.length === 1) return { kind: 'voip' };
      if (a === 'activate' && t.length === 1) return mode;
      if (a === 'dial-plan-rule' && b === 'new' && t.length === 2)
        return { kind: 'rule', plan: mode.plan, fields: new Map(), done: false };
      if (
        a === 'no' &&
        b === 'dial-plan-rule' &&
        c === 'where' &&
        d === 'name' &&
        e !== undefined &&
        t.length === 5
      ) {
        for (const [i, r] of mode.plan.rules)
          if (r.name.toLowerCase() === e.toLowerCase()) mode.plan.rules.delete(i);
        state.saveNeeded = true;
        return mode;
      }
      if (a === 'no' && b === 'dial-plan-rule' && c !== undefined && /^\d+$/.test(c) && t.length === 3) {
        if (!mode.plan.rules.delete(Number(c)))
          throw new CliError(`Dial-plan rule index ${c} does not exist`);
        state.saveNeeded = true;
        return mode;
      }
      throw new CliError(`Invalid command '${t.join(' ')}'`);
  }
}

function removeWhere(state: SbcState, table: 'ipGroups' | 'sipAccounts', field: string, value: string): void {
  // Assumed: removing an entry that is not there is not an error (the seeds' cleanup removes a SIP
  // account whether or not the site registers with its carrier).
  const before = state[table].length;
  state[table] = state[table].filter((x) => x.fields.get(field) !== value);
  if (state[table].length !== before) state.saveNeeded = true;
}

function commit(
  state: SbcState,
  mode: Extract<Mode, { kind: 'entry' | 'rule' | 'new-plan' }>,
  limits: CliLimits,
): void {
  if (mode.kind === 'new-plan') {
    const name = mode.fields.get('name');
    if (!name) throw new CliError('A dial plan needs a name');
    if (state.dialPlans.has(name)) throw new CliError(`Dial plan "${name}" already exists`);
    const index = lowestFree([...state.dialPlans.values()].map((p) => p.index));
    state.dialPlans.set(name, { index, name, rules: new Map() });
  } else if (mode.kind === 'rule') {
    const name = mode.fields.get('name') ?? '';
    const prefix = mode.fields.get('prefix') ?? '';
    const tag = mode.fields.get('tag') ?? '';
    if (name === '' || name.length > limits.ruleNameMax)
      throw new CliError(`Rule name must be 1-${limits.ruleNameMax} characters`);
    if (prefix.length > limits.prefixMax || !PREFIX.test(prefix))
      throw new CliError(`Invalid prefix "${prefix}"`);
    if (tag.length > limits.tagMax) throw new CliError(`Tag longer than ${limits.tagMax} characters`);
    const index = lowestFree([...mode.plan.rules.keys()]);
    const rule: DialPlanRule = { index, name, prefix, tag };
    mode.plan.rules.set(index, rule);
  } else {
    const key = mode.table === 'ip-group' ? 'name' : 'account-name';
    const list = mode.table === 'ip-group' ? state.ipGroups : state.sipAccounts;
    const id = mode.fields.get(key);
    if (!id) throw new CliError(`The ${mode.table} needs a ${key}`);
    if (list.some((x) => x.fields.get(key) === id))
      throw new CliError(`${mode.table} "${id}" already exists`);
    const entry: Entry = { index: lowestFree(list.map((x) => x.index)), fields: new Map(mode.fields) };
    list.push(entry);
  }
  state.saveNeeded = true;
}

/**
 * The running configuration as the device prints it (`GET /api/v1/files/cliScript`), limited to the
 * tables the simulator keeps. The layout (`sbc dial-plan-rule <plan>/<rule>`) is assumed.
 */
export function runningConfig(state: SbcState): string {
  const out: string[] = ['configure voip'];
  const block = (head: string, fields: [string, string][]) => {
    out.push(` ${head}`);
    for (const [k, v] of fields) {
      // The device never prints a password back (shown obfuscated).
      const shown =
        k === 'password' ? '"*"' : /^\d+$/.test(v) || /^(enable|disable|reg|sbc)$/.test(v) ? v : `"${v}"`;
      out.push(`  ${k} ${shown}`);
    }
    out.push('  activate', ' exit');
  };
  for (const g of [...state.ipGroups].sort((x, y) => x.index - y.index))
    block(`ip-group ${g.index}`, [...g.fields]);
  for (const a of [...state.sipAccounts].sort((x, y) => x.index - y.index))
    block(`sip-definition account ${a.index}`, [...a.fields]);
  const plans = [...state.dialPlans.values()].sort((x, y) => x.index - y.index);
  for (const p of plans) block(`sbc dial-plan ${p.index}`, [['name', p.name]]);
  for (const p of plans) {
    for (const r of [...p.rules.values()].sort((x, y) => x.index - y.index)) {
      block(`sbc dial-plan-rule ${p.index}/${r.index}`, [
        ['name', r.name],
        ['prefix', r.prefix],
        ['tag', r.tag],
      ]);
    }
  }
  out.push('exit');
  return `${out.join('\n')}\n`;
}
