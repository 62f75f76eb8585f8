import type { HttpRequest } from '@azure/functions';
import type { z } from 'zod';
import { DomainError, PayloadTooLargeError, ValidationError } from '../errors';

/**
 * The one way a request body is read, for every route (the admin API and the orders webhook): JSON
 * only (415 otherwise), at most `limitBytes` (413), strict UTF-8 (invalid bytes are refused, never
 * turned into U+FFFD), nested at most `maxDepth` deep, and every string and key well-formed Unicode
 * (no lone surrogates from `\ud800` escapes). Then the schema, field by field (400).
 */
export const DEFAULT_BODY_LIMIT_BYTES = 64 * 1024;
/** Deeper than any body the API defines (the deepest is 4); enough to refuse a 10,000-deep attack early. */
export const DEFAULT_MAX_DEPTH = 32;

export interface BodyLimits {
  limitBytes?: number;
  maxDepth?: number;
}

export class UnsupportedMediaTypeError extends DomainError {
  constructor(got: string | null) {
    super(
      415,
      'unsupported_media_type',
      got
        ? `The body must be JSON (Content-Type: application/json), not '${got.slice(0, 100)}'.`
        : 'The body must be JSON: send Content-Type: application/json.',
    );
  }
}

/** application/json or application/<anything>+json, in UTF-8 (the only charset JSON has: RFC 8259 §8.1). */
export function requireJsonContentType(request: HttpRequest): void {
  const header = request.headers.get('content-type');
  const [type = '', ...params] = (header ?? '').split(';').map((p) => p.trim().toLowerCase());
  const isJson = type === 'application/json' || /^application\/[a-z0-9.+-]+\+json$/.test(type);
  const charset = params
    .find((p) => p.startsWith('charset='))
    ?.slice('charset='.length)
    .replace(/"/g, '');
  if (!isJson || (charset !== undefined && charset !== 'utf-8' && charset !== 'utf8')) {
    throw new UnsupportedMediaTypeError(header);
  }
}

/**
 * Reads a JSON body and checks it against a schema. The raw text is returned too (signatures are
 * computed over it). With `optional`, an empty body (whatever its content type) is `undefined`.
 */
export async function readJson<S extends z.ZodType>(
  request: HttpRequest,
  schema: S,
  options: BodyLimits & { optional?: boolean } = {},
): Promise<{ value: z.infer<S>; raw: string }> {
  const bytes = await readBytes(request, options.limitBytes ?? DEFAULT_BODY_LIMIT_BYTES);
  if (options.optional && bytes.length === 0) return { value: parseWith(schema, undefined), raw: '' };
  requireJsonContentType(request);
  const { text, json } = parseJsonBytes(bytes, options);
  return { value: parseWith(schema, json), raw: text };
}

/** The body's exact bytes (signatures are computed over them), refused with 413 past the limit. */
export async function readBytes(request: HttpRequest, limitBytes: number): Promise<Buffer> {
  const declared = Number(request.headers.get('content-length') ?? '0');
  if (declared > limitBytes) throw new PayloadTooLargeError(limitBytes);
  const bytes = Buffer.from(await request.arrayBuffer());
  if (bytes.length > limitBytes) throw new PayloadTooLargeError(limitBytes);
  return bytes;
}

const bodyProblem = (message: string, field = '(body)') => new ValidationError(message, [{ field, message }]);

/**
 * Bytes to JSON under the limits above: strict UTF-8, depth checked before parsing (so neither the
 * parser nor anything walking the value afterwards can be driven into a stack overflow), strings
 * well-formed.
 */
export function parseJsonBytes(bytes: Buffer, limits: BodyLimits = {}): { text: string; json: unknown } {
  const limitBytes = limits.limitBytes ?? DEFAULT_BODY_LIMIT_BYTES;
  if (bytes.length > limitBytes) throw new PayloadTooLargeError(limitBytes);
  let text: string;
  try {
    text = new TextDecoder('utf-8', { fatal: true }).decode(bytes);
  } catch {
    throw bodyProblem('The body is not UTF-8 text.');
  }
  const maxDepth = limits.maxDepth ?? DEFAULT_MAX_DEPTH;
  if (nestingDepth(text, maxDepth) > maxDepth) {
    throw bodyProblem(`The body is nested more than ${maxDepth} levels deep.`);
  }
  let json: unknown;
  try {
    json = JSON.parse(text) as unknown;
  } catch {
    throw bodyProblem('The body is not valid JSON.');
  }
  const bad = illFormedString(json);
  if (bad !== undefined)
    throw bodyProblem('The body has a string that is not valid Unicode (a lone surrogate).', bad);
  return { text, json };
}

/** How deep arrays and objects nest in JSON text (strings skipped), counting up to just past `stopAt`. */
function nestingDepth(text: string, stopAt: number): number {
  let depth = 0;
  let max = 0;
  let inString = false;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (inString) {
      if (c === 0x5c) i++;
      else if (c === 0x22) inString = false;
    } else if (c === 0x22) inString = true;
    else if (c === 0x7b || c === 0x5b) {
      if (++depth > max) max = depth;
      if (max > stopAt) return max;
    } else if (c === 0x7d || c === 0x5d) depth--;
  }
  return max;
}

/** The path of the first key or string that is not well-formed UTF-16, if any (iterative: no recursion). */
function illFormedString(value: unknown): string | undefined {
  const stack: [unknown, string][] = [[value, '']];
  while (stack.length > 0) {
    const [v, path] = stack.pop()!;
    if (typeof v === 'string') {
      if (!v.isWellFormed()) return path || '(body)';
    } else if (Array.isArray(v)) {
      v.forEach((item, i) => stack.push([item, path ? `${path}.${i}` : String(i)]));
    } else if (typeof v === 'object' && v !== null) {
      for (const [k, item] of Object.entries(v)) {
        if (!k.isWellFormed()) return path || '(body)';
        stack.push([item, path ? `${path}.${k}` : k]);
      }
    }
  }
  return undefined;
}

export function parseWith<S extends z.ZodType>(schema: S, input: unknown, what = 'request'): z.infer<S> {
  const result = schema.safeParse(input);
  if (!result.success) {
    throw new ValidationError(
      `The ${what} is not valid.`,
      result.error.issues.map((i) => ({ field: i.path.join('.') || '(body)', message: i.message })),
    );
  }
  return result.data;
}

/** Query parameters as a plain object, for schema parsing. */
export function queryOf(request: HttpRequest): Record<string, string> {
  return Object.fromEntries(request.query.entries());
}
