/**
 * A small reader for the Bicep in infra/, for the drift tests. No Bicep compiler is available to
 * the tests (it is a .NET binary fetched from GitHub, and nothing outside npm is reachable), so this
 * reads the text itself. It understands the structure the checks need and nothing more:
 *
 * - declarations (`param`, `var`, `resource`, `module`, `output`, …) with their decorators;
 * - object and array literals, nested resources, `[for … in …: …]` loops and `if (…)` conditions;
 * - string literals (interpolations kept as written) and comments, so a comment beside a value
 *   (`id: '…' // Storage Queue Data Contributor`) can be read as its documentation.
 *
 * Any other expression (a function call, a ternary, a property access) is kept as its source text:
 * the checks resolve plain identifiers and fail loudly on shapes they cannot see through, rather
 * than guess. It is not a validator: a file it reads may still not compile.
 */

export type Value =
  | { kind: 'string'; value: string; line: number }
  | { kind: 'object'; properties: Property[]; resources: Declaration[]; line: number }
  | { kind: 'array'; items: Value[]; line: number }
  | { kind: 'for'; variable: string; source: Value; condition?: string; body: Value; line: number }
  | { kind: 'if'; condition: string; body: Value; line: number }
  | { kind: 'expr'; text: string; line: number };

export interface Property {
  key: string;
  value: Value;
  line: number;
  /** The comment at the end of the line the value ends on, if any. */
  comment?: string;
}

export interface Declaration {
  keyword: string;
  name: string;
  /** A resource's or module's quoted type or path; a param's or output's type. */
  type?: string;
  existing: boolean;
  value?: Value;
  decorators: string[];
  line: number;
  /** Full-line comments directly above the declaration (or its decorators). */
  commentsAbove: string[];
}

export interface BicepFile {
  path: string;
  declarations: Declaration[];
}

interface Token {
  type: 'ident' | 'string' | 'number' | 'punct' | 'newline';
  text: string;
  /** For strings: the content between the quotes (escapes resolved, `${…}` kept). */
  value?: string;
  line: number;
  start: number;
  end: number;
}

const PUNCT = ['==', '!=', '<=', '>=', '&&', '||', '??', '?.', '.?', '=~', '!~', '=>', '::'];

function tokenize(text: string): { tokens: Token[]; comments: Map<number, string>; codeLines: Set<number> } {
  const tokens: Token[] = [];
  const comments = new Map<number, string>();
  const codeLines = new Set<number>();
  let i = 0;
  let line = 1;
  const push = (t: Omit<Token, 'line'>) => {
    tokens.push({ ...t, line });
    if (t.type !== 'newline') codeLines.add(line);
  };
  while (i < text.length) {
    const c = text[i]!;
    if (c === '\n') {
      push({ type: 'newline', text: '\n', start: i, end: i + 1 });
      line++;
      i++;
    } else if (c === ' ' || c === '\t' || c === '\r') {
      i++;
    } else if (text.startsWith('//', i)) {
      const end = text.indexOf('\n', i);
      const stop = end === -1 ? text.length : end;
      comments.set(line, text.slice(i + 2, stop).trim());
      i = stop;
    } else if (text.startsWith('/*', i)) {
      const end = text.indexOf('*/', i + 2);
      const stop = end === -1 ? text.length : end + 2;
      line += (text.slice(i, stop).match(/\n/g) ?? []).length;
      i = stop;
    } else if (text.startsWith("'''", i)) {
      // Multi-line string: no escapes, no interpolation.
      const end = text.indexOf("'''", i + 3);
      const stop = end === -1 ? text.length : end + 3;
      const startLine = line;
      const value = text.slice(i + 3, end === -1 ? text.length : end);
      tokens.push({ type: 'string', text: text.slice(i, stop), value, line: startLine, start: i, end: stop });
      codeLines.add(startLine);
      line += (value.match(/\n/g) ?? []).length;
      i = stop;
    } else if (c === "'") {
      const start = i;
      let value = '';
      i++;
      while (i < text.length && text[i] !== "'") {
        if (text[i] === '\\') {
          const e = text[i + 1] ?? '';
          value += ({ n: '\n', r: '\r', t: '\t' } as Record<string, string>)[e] ?? e;
          i += 2;
        } else if (text.startsWith('${', i)) {
          // Interpolation: copy it as written, minding nested braces and strings.
          let depth = 0;
          const from = i;
          do {
            if (text[i] === '{') depth++;
            else if (text[i] === '}') depth--;
            else if (text[i] === "'") {
              i++;
              while (i < text.length && text[i] !== "'") i += text[i] === '\\' ? 2 : 1;
            }
            i++;
          } while (i < text.length && depth > 0);
          value += text.slice(from, i);
        } else {
          value += text[i];
          i++;
        }
      }
      i++;
      push({ type: 'string', text: text.slice(start, i), value, start, end: i });
    } else if (/[A-Za-z_]/.test(c)) {
      const m = /^[A-Za-z_][A-Za-z0-9_]*/.exec(text.slice(i))!;
      push({ type: 'ident', text: m[0], start: i, end: i + m[0].length });
      i += m[0].length;
    } else if (/[0-9]/.test(c)) {
      const m = /^[0-9]+(\.[0-9]+)?/.exec(text.slice(i))!;
      push({ type: 'number', text: m[0], start: i, end: i + m[0].length });
      i += m[0].length;
    } else {
      const two = PUNCT.find((p) => text.startsWith(p, i));
      const t = two ?? c;
      push({ type: 'punct', text: t, start: i, end: i + t.length });
      i += t.length;
    }
  }
  return { tokens, comments, codeLines };
}

const OPENERS: Record<string, string> = { '{': '}', '[': ']', '(': ')' };
const CLOSERS = new Set(['}', ']', ')']);
/** Operators that let an expression go on after a line break (`cond\n  ? a\n  : b`). */
const CONTINUATIONS = new Set(['?', ':', '??', '&&', '||']);

export function readBicep(path: string, text: string): BicepFile {
  const { tokens, comments, codeLines } = tokenize(text);
  let pos = 0;
  const peek = (k = 0) => tokens[pos + k];
  const fail = (message: string): never => {
    throw new Error(`${path}:${peek()?.line ?? 'end'}: ${message}`);
  };
  const next = () => tokens[pos++] ?? fail('unexpected end of file');
  const expect = (text: string) => {
    const t = next();
    if (t.text !== text) fail(`expected "${text}", found "${t.text}"`);
    return t;
  };
  const skipNewlines = () => {
    while (peek()?.type === 'newline' || peek()?.text === ',') pos++;
  };
  const commentsAbove = (line: number) => {
    const out: string[] = [];
    for (let l = line - 1; comments.has(l) && !codeLines.has(l); l--) out.unshift(comments.get(l)!);
    return out;
  };
  /** Skips a balanced group starting at the current opener; returns its source text. */
  const balanced = (): string => {
    const open = next();
    const close = OPENERS[open.text] ?? fail(`expected a bracket, found "${open.text}"`);
    let depth = 1;
    let last = open;
    while (depth > 0) {
      last = next();
      if (last.text === open.text) depth++;
      else if (last.text === close) depth--;
    }
    return text.slice(open.start, last.end);
  };

  /** An expression up to a line break, a comma or a closing bracket at its own depth. */
  const expression = (stopAtColon = false): Value => {
    const first = peek() ?? fail('expected a value');
    const startPos = pos;
    let depth = 0;
    let last: Token | undefined;
    for (;;) {
      const t = peek();
      if (!t) break;
      if (depth === 0) {
        if (t.type === 'newline') {
          let k = 1;
          while (peek(k)?.type === 'newline') k++;
          if (CONTINUATIONS.has(peek(k)?.text ?? '') && !stopAtColon) {
            pos += k;
            continue;
          }
          break;
        }
        if (t.text === ',' || CLOSERS.has(t.text) || (stopAtColon && t.text === ':')) break;
      }
      if (OPENERS[t.text]) depth++;
      else if (CLOSERS.has(t.text)) depth--;
      last = t;
      pos++;
    }
    if (!last) fail('expected a value');
    if (pos - startPos === 1 && first.type === 'string') {
      return { kind: 'string', value: first.value!, line: first.line };
    }
    return { kind: 'expr', text: text.slice(first.start, last!.end), line: first.line };
  };

  const value = (): Value => {
    const t = peek() ?? fail('expected a value');
    if (t.text === 'if' && peek(1)?.text === '(') {
      pos++;
      const condition = balanced();
      return { kind: 'if', condition, body: value(), line: t.line };
    }
    // A literal object or array is structure; anything longer (`[a, b][0]`, `{…}.x`) is an expression.
    const save = pos;
    if (t.text === '{' || t.text === '[') {
      const v = t.text === '{' ? object() : arrayOrFor();
      const after = peek();
      if (!after || after.type === 'newline' || after.text === ',' || CLOSERS.has(after.text)) return v;
      pos = save;
    }
    return expression();
  };

  const object = (): Value => {
    const open = expect('{');
    const properties: Property[] = [];
    const resources: Declaration[] = [];
    for (;;) {
      skipNewlines();
      const t = peek() ?? fail('unclosed object');
      if (t.text === '}') {
        pos++;
        return { kind: 'object', properties, resources, line: open.line };
      }
      if (t.text === '@') {
        decorators();
        continue;
      }
      if (t.text === 'resource' && peek(1)?.type === 'ident' && peek(2)?.type === 'string') {
        resources.push(declaration());
        continue;
      }
      const key = next();
      if (key.type !== 'ident' && key.type !== 'string')
        fail(`expected a property name, found "${key.text}"`);
      expect(':');
      const v = value();
      const endLine = tokens[pos - 1]!.line;
      properties.push({
        key: key.type === 'string' ? key.value! : key.text,
        value: v,
        line: key.line,
        ...(comments.has(endLine) ? { comment: comments.get(endLine)! } : {}),
      });
    }
  };

  const arrayOrFor = (): Value => {
    const open = expect('[');
    skipNewlines();
    if (peek()?.text === 'for') {
      pos++;
      let variable: string;
      if (peek()?.text === '(') {
        const group = balanced();
        variable = group.slice(1, -1).split(',')[0]!.trim();
      } else variable = next().text;
      expect('in');
      const source = expression(true);
      expect(':');
      skipNewlines();
      let condition: string | undefined;
      if (peek()?.text === 'if') {
        pos++;
        condition = balanced();
      }
      const body = value();
      skipNewlines();
      expect(']');
      return { kind: 'for', variable, source, ...(condition ? { condition } : {}), body, line: open.line };
    }
    const items: Value[] = [];
    for (;;) {
      skipNewlines();
      if (peek()?.text === ']') {
        pos++;
        return { kind: 'array', items, line: open.line };
      }
      items.push(value());
    }
  };

  let pendingDecorators: string[] = [];
  let pendingLine: number | undefined;
  const decorators = () => {
    while (peek()?.text === '@') {
      pendingLine ??= peek()!.line;
      const at = next();
      let end = next();
      while (peek()?.text === '.') {
        pos++;
        end = next();
      }
      let textOut = text.slice(at.start, end.end);
      if (peek()?.text === '(') textOut += balanced();
      pendingDecorators.push(textOut);
      skipNewlines();
    }
  };

  const declaration = (): Declaration => {
    const keyword = next();
    const line = pendingLine ?? keyword.line;
    const decl: Declaration = {
      keyword: keyword.text,
      name: '',
      existing: false,
      decorators: pendingDecorators,
      line: keyword.line,
      commentsAbove: commentsAbove(line),
    };
    pendingDecorators = [];
    pendingLine = undefined;
    switch (keyword.text) {
      case 'targetScope':
        expect('=');
        decl.value = value();
        break;
      case 'param':
      case 'output': {
        decl.name = next().text;
        const typeStart = peek()!;
        let typeEnd = typeStart;
        while (peek() && peek()!.text !== '=' && peek()!.type !== 'newline') typeEnd = next();
        decl.type = text.slice(typeStart.start, typeEnd.end);
        if (peek()?.text === '=') {
          pos++;
          decl.value = value();
        }
        break;
      }
      case 'var':
        decl.name = next().text;
        expect('=');
        decl.value = value();
        break;
      case 'resource':
      case 'module': {
        decl.name = next().text;
        const type = next();
        if (type.type !== 'string') fail(`expected the ${keyword.text}'s quoted type`);
        decl.type = type.value!;
        if (peek()?.text === 'existing') {
          pos++;
          decl.existing = true;
        }
        expect('=');
        decl.value = value();
        break;
      }
      default:
        // extension, import, type, func, metadata: not needed; skipped to the end of the line.
        while (peek() && peek()!.type !== 'newline') {
          if (OPENERS[peek()!.text]) balanced();
          else pos++;
        }
    }
    return decl;
  };

  const declarations: Declaration[] = [];
  for (;;) {
    skipNewlines();
    if (!peek()) break;
    if (peek()!.text === '@') {
      decorators();
      continue;
    }
    declarations.push(declaration());
  }
  return { path, declarations };
}

// --- Helpers over what was read ---------------------------------------------------------------

/** A resource with its full type (nested resources get their parent's type prefixed), unversioned. */
export interface Resource {
  file: BicepFile;
  declaration: Declaration;
  type: string;
  /** The object body, unwrapped from `if (…)` and `[for …]`. */
  body: Extract<Value, { kind: 'object' }>;
  /** The loop around it, if any. */
  loop?: Extract<Value, { kind: 'for' }>;
}

export function unwrap(v: Value | undefined): { body?: Value; loop?: Extract<Value, { kind: 'for' }> } {
  let loop: Extract<Value, { kind: 'for' }> | undefined;
  while (v && (v.kind === 'if' || v.kind === 'for')) {
    if (v.kind === 'for') loop = v;
    v = v.body;
  }
  return { ...(v ? { body: v } : {}), ...(loop ? { loop } : {}) };
}

export function resources(file: BicepFile): Resource[] {
  const out: Resource[] = [];
  const visit = (decls: Declaration[], parentType?: string) => {
    for (const d of decls) {
      if (d.keyword !== 'resource' || !d.type) continue;
      const bare = d.type.split('@')[0]!;
      const type = parentType && !bare.includes('/') ? `${parentType}/${bare}` : bare;
      const { body, loop } = unwrap(d.value);
      if (body?.kind !== 'object') continue;
      out.push({ file, declaration: d, type, body, ...(loop ? { loop } : {}) });
      visit(body.resources, type);
    }
  };
  visit(file.declarations);
  return out;
}

/** The value at a dotted path of object properties, e.g. `properties.siteConfig.appSettings`. */
export function at(v: Value | undefined, path: string): Value | undefined {
  for (const key of path.split('.')) {
    if (v?.kind !== 'object') return undefined;
    v = v.properties.find((p) => p.key === key)?.value;
  }
  return v;
}

export function property(v: Value | undefined, key: string): Property | undefined {
  return v?.kind === 'object' ? v.properties.find((p) => p.key === key) : undefined;
}

export function declared(file: BicepFile, keyword: string, name: string): Declaration | undefined {
  return file.declarations.find((d) => d.keyword === keyword && d.name === name);
}

export function isIdentifier(v: Value | undefined): v is Extract<Value, { kind: 'expr' }> {
  return v?.kind === 'expr' && /^[A-Za-z_][A-Za-z0-9_]*$/.test(v.text);
}
