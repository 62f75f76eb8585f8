import type { HttpRequest } from '@azure/functions';
import type { z } from 'zod';
import { PayloadTooLargeError, ValidationError } from '../errors';

/**
 * Reads a request body as JSON and checks it against a schema: too large is 413, not JSON or not
 * matching is 400 with the problem field by field. The raw text is returned too (signatures are
 * computed over it).
 */
export async function readJson<S extends z.ZodType>(
  request: HttpRequest,
  schema: S,
  options: { limitBytes?: number } = {},
): Promise<{ value: z.infer<S>; raw: string }> {
  const raw = await readText(request, options.limitBytes ?? 64 * 1024);
  let parsed: unknown;
  try {
    parsed = JSON.parse(raw);
  } catch {
    throw new ValidationError('The body is not valid JSON.', [
      { field: '(body)', message: 'not valid JSON' },
    ]);
  }
  return { value: parseWith(schema, parsed), raw };
}

/** The body's exact bytes (signatures are computed over them), refused with 413 past the limit. */
export async function readBytes(request: HttpRequest, limitBytes: number): Promise<Buffer> {
  const declared = Number(request.headers.get('content-length') ?? '0');
  if (declared > limitBytes) throw new PayloadTooLargeError(limitBytes);
  const bytes = Buffer.from(await request.arrayBuffer());
  if (bytes.length > limitBytes) throw new PayloadTooLargeError(limitBytes);
  return bytes;
}

export async function readText(request: HttpRequest, limitBytes: number): Promise<string> {
  return (await readBytes(request, limitBytes)).toString('utf8');
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
