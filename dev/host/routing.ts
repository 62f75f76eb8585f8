import { trimSlashes } from './config';

/**
 * Route templates the way the Functions host reads them (ASP.NET Core route templates): literal
 * segments, `{param}`, `{param?}`, `{param=default}`, `{*rest}`, constraints such as `{id:guid}` or
 * `{n:int:min(1)}`, and several parameters in one segment (`{name}.{ext}`). Literals and
 * parameter names match without regard to case. When several templates match a path, the more
 * specific one wins, segment by segment: literal, then mixed segment, then constrained parameter,
 * then plain parameter, then catch-all (ASP.NET's "route precedence").
 */

type Constraint = (value: string) => boolean;

interface Param {
  kind: 'param';
  name: string;
  optional: boolean;
  catchAll: boolean;
  defaultValue: string | undefined;
  constraints: Constraint[];
}

type Segment =
  { kind: 'literal'; text: string } | Param | { kind: 'complex'; regex: RegExp; params: Param[] };

export interface CompiledRoute<T> {
  template: string;
  value: T;
  segments: Segment[];
  /** One digit per segment, lower is more specific. */
  precedence: number[];
}

export type RouteParams = Record<string, string>;

export function compileRoute<T>(template: string, value: T): CompiledRoute<T> {
  const raw = trimSlashes(template);
  const segments = raw === '' ? [] : raw.split('/').map((s) => parseSegment(s, template));
  segments.forEach((segment, i) => {
    const last = i === segments.length - 1;
    if (segment.kind === 'param' && segment.catchAll && !last) {
      throw new Error(`Route "${template}": a catch-all parameter must be the last segment`);
    }
    if (segment.kind === 'param' && segment.optional && segments.slice(i + 1).some((s) => !isOptional(s))) {
      throw new Error(`Route "${template}": an optional parameter can only be followed by optional ones`);
    }
  });
  return { template, value, segments, precedence: segments.map(precedenceDigit) };
}

/** Route params for `pathSegments` (already split and decoded), or undefined when it does not match. */
export function matchRoute(route: CompiledRoute<unknown>, pathSegments: string[]): RouteParams | undefined {
  const params: RouteParams = {};
  for (let i = 0; i < route.segments.length; i++) {
    const segment = route.segments[i] as Segment;
    const value = pathSegments[i];
    if (segment.kind === 'param' && segment.catchAll) {
      const rest = pathSegments.slice(i).join('/');
      if (rest !== '') params[segment.name] = rest;
      else if (segment.defaultValue !== undefined) params[segment.name] = segment.defaultValue;
      return params;
    }
    if (value === undefined || value === '') {
      if (!isOptional(segment)) return undefined;
      if (segment.kind === 'param' && segment.defaultValue !== undefined) {
        params[segment.name] = segment.defaultValue;
      }
      continue;
    }
    if (segment.kind === 'literal') {
      if (segment.text.toLowerCase() !== value.toLowerCase()) return undefined;
    } else if (segment.kind === 'param') {
      if (!segment.constraints.every((c) => c(value))) return undefined;
      params[segment.name] = value;
    } else {
      const m = segment.regex.exec(value);
      if (!m) return undefined;
      for (const [j, p] of segment.params.entries()) {
        const v = m[j + 1] ?? '';
        if (!p.constraints.every((c) => c(v))) return undefined;
        params[p.name] = v;
      }
    }
  }
  return pathSegments.length <= route.segments.length ? params : undefined;
}

/** Most specific first; ties keep template order by name so the result does not depend on input order. */
export function byPrecedence(a: CompiledRoute<unknown>, b: CompiledRoute<unknown>): number {
  const n = Math.max(a.precedence.length, b.precedence.length);
  for (let i = 0; i < n; i++) {
    const d = (a.precedence[i] ?? 0) - (b.precedence[i] ?? 0);
    if (d !== 0) return d;
  }
  return a.template.toLowerCase().localeCompare(b.template.toLowerCase());
}

/** `/a/b%20c/` → `['a', 'b c']`; undefined when a segment is not valid percent-encoding. */
export function splitPath(pathname: string): string[] | undefined {
  const trimmed = trimSlashes(pathname);
  if (trimmed === '') return [];
  try {
    return trimmed.split('/').map((s) => decodeURIComponent(s));
  } catch {
    return undefined;
  }
}

function isOptional(segment: Segment): boolean {
  return (
    segment.kind === 'param' && (segment.optional || segment.catchAll || segment.defaultValue !== undefined)
  );
}

function precedenceDigit(segment: Segment): number {
  if (segment.kind === 'literal') return 1;
  if (segment.kind === 'complex') return 2;
  if (segment.catchAll) return 5;
  return segment.constraints.length > 0 ? 3 : 4;
}

function parseSegment(text: string, template: string): Segment {
  if (text === '') throw new Error(`Route "${template}": empty segment`);
  const parts = tokenize(text, template);
  const params = parts.filter((p) => p.kind === 'param').map((p) => parseParam(p.text, template));
  if (params.length === 0) return { kind: 'literal', text: parts.map((p) => p.text).join('') };
  if (parts.length === 1) return params[0] as Param;
  // Several pieces in one segment: literals must match exactly, parameters take what lies between.
  if (params.some((p) => p.catchAll || p.optional)) {
    throw new Error(`Route "${template}": "${text}" mixes text with an optional or catch-all parameter`);
  }
  if (parts.some((p, i) => p.kind === 'param' && parts[i + 1]?.kind === 'param')) {
    throw new Error(`Route "${template}": "${text}" has two parameters with nothing between them`);
  }
  const source = parts.map((p) => (p.kind === 'param' ? '(.+?)' : escapeRegExp(p.text))).join('');
  return { kind: 'complex', regex: new RegExp(`^${source}$`, 'i'), params };
}

/** Splits a segment into literal text and `{…}` parameters; `{{` and `}}` stand for literal braces. */
function tokenize(text: string, template: string): { kind: 'literal' | 'param'; text: string }[] {
  const out: { kind: 'literal' | 'param'; text: string }[] = [];
  let buffer = '';
  let inParam = false;
  for (let i = 0; i < text.length; i++) {
    const c = text[i] as string;
    if ((c === '{' || c === '}') && text[i + 1] === c) {
      buffer += c;
      i++;
    } else if (c === '{' && !inParam) {
      if (buffer !== '') out.push({ kind: 'literal', text: buffer });
      buffer = '';
      inParam = true;
    } else if (c === '}' && inParam) {
      out.push({ kind: 'param', text: buffer });
      buffer = '';
      inParam = false;
    } else if (c === '{' || c === '}') {
      throw new Error(`Route "${template}": unbalanced brace in "${text}"`);
    } else {
      buffer += c;
    }
  }
  if (inParam) throw new Error(`Route "${template}": unbalanced brace in "${text}"`);
  if (buffer !== '') out.push({ kind: 'literal', text: buffer });
  return out;
}

function parseParam(token: string, template: string): Param {
  let rest = token;
  const catchAll = rest.startsWith('*');
  rest = rest.replace(/^\*{1,2}/, '');
  let defaultValue: string | undefined;
  const eq = indexOutsideParens(rest, '=');
  if (eq >= 0) {
    defaultValue = rest.slice(eq + 1);
    rest = rest.slice(0, eq);
  }
  const optional = rest.endsWith('?');
  if (optional) rest = rest.slice(0, -1);
  const [name = '', ...constraintTexts] = splitOutsideParens(rest, ':');
  if (!/^[A-Za-z_][A-Za-z0-9_]*$/.test(name)) {
    throw new Error(`Route "${template}": "{${token}}" has no valid parameter name`);
  }
  const constraints = constraintTexts.map((c) => parseConstraint(c, template));
  return { kind: 'param', name, optional, catchAll, defaultValue, constraints };
}

function parseConstraint(text: string, template: string): Constraint {
  const m = /^([a-zA-Z]+)(?:\((.*)\))?$/s.exec(text);
  const name = m?.[1]?.toLowerCase();
  const arg = m?.[2];
  const nums = (arg ?? '').split(',').map((s) => Number(s.trim()));
  const [a = NaN, b = NaN] = nums;
  const integer = (v: string): number | undefined => (/^-?\d+$/.test(v) ? Number(v) : undefined);
  switch (name) {
    case 'int':
      return (v) => {
        const n = integer(v);
        return n !== undefined && n >= -(2 ** 31) && n < 2 ** 31;
      };
    case 'long':
      return (v) => integer(v) !== undefined && BigInt(v) >= -(2n ** 63n) && BigInt(v) < 2n ** 63n;
    case 'bool':
      return (v) => /^(true|false)$/i.test(v);
    case 'guid':
      return isGuid;
    case 'alpha':
      return (v) => /^[a-z]+$/i.test(v);
    case 'datetime':
      return (v) => !Number.isNaN(Date.parse(v));
    case 'decimal':
    case 'double':
    case 'float':
      return (v) => /^[-+]?(\d+\.?\d*|\.\d+)([eE][-+]?\d+)?$/.test(v);
    case 'min':
      return (v) => (integer(v) ?? -Infinity) >= a;
    case 'max':
      return (v) => (integer(v) ?? Infinity) <= a;
    case 'range':
      return (v) => {
        const n = integer(v);
        return n !== undefined && n >= a && n <= b;
      };
    case 'minlength':
      return (v) => v.length >= a;
    case 'maxlength':
      return (v) => v.length <= a;
    case 'length':
      return nums.length === 1 ? (v) => v.length === a : (v) => v.length >= a && v.length <= b;
    case 'required':
      return (v) => v !== '';
    case 'regex': {
      // ASP.NET's regex constraint is case-insensitive and not anchored unless the pattern is.
      const re = new RegExp(arg ?? '', 'i');
      return (v) => re.test(v);
    }
    default:
      throw new Error(`Route "${template}": unknown route constraint "${text}"`);
  }
}

/** The forms .NET's Guid.TryParse accepts: 32 digits, hyphenated, optionally in braces or parentheses. */
function isGuid(v: string): boolean {
  const inner = /^\{.*\}$|^\(.*\)$/.test(v) ? v.slice(1, -1) : v;
  return (
    /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i.test(inner) ||
    (inner === v && /^[0-9a-f]{32}$/i.test(v))
  );
}

function indexOutsideParens(s: string, ch: string): number {
  let depth = 0;
  for (let i = 0; i < s.length; i++) {
    if (s[i] === '(') depth++;
    else if (s[i] === ')') depth--;
    else if (s[i] === ch && depth === 0) return i;
  }
  return -1;
}

function splitOutsideParens(s: string, ch: string): string[] {
  const out: string[] = [];
  let rest = s;
  for (let i = indexOutsideParens(rest, ch); i >= 0; i = indexOutsideParens(rest, ch)) {
    out.push(rest.slice(0, i));
    rest = rest.slice(i + 1);
  }
  out.push(rest);
  return out;
}

function escapeRegExp(s: string): string {
  return s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}
