import { z } from 'zod';

/**
 * JSON Schema for the OpenAPI document. Request bodies come from the same zod schemas that validate
 * them (as the caller sends them: `io: 'input'`), so the document cannot drift from the checks;
 * answers, which the code builds rather than parses, are written out in components.ts.
 */
export type JsonSchema = Record<string, unknown>;

export function fromZod(schema: z.ZodType): JsonSchema {
  const { $schema: _drop, ...rest } = z.toJSONSchema(schema, {
    io: 'input',
    unrepresentable: 'any',
  }) as JsonSchema;
  return rest;
}

export const ref = (name: string): JsonSchema => ({ $ref: `#/components/schemas/${name}` });
export const nullable = (type: string, extra: JsonSchema = {}): JsonSchema => ({
  type: [type, 'null'],
  ...extra,
});
export const dateTime: JsonSchema = { type: 'string', format: 'date-time' };
export const nullableDateTime: JsonSchema = { type: ['string', 'null'], format: 'date-time' };

export function object(
  properties: Record<string, JsonSchema>,
  required: string[] = Object.keys(properties),
): JsonSchema {
  return { type: 'object', properties, required };
}

export interface Operation {
  operationId: string;
  summary: string;
  description?: string;
  tags: string[];
  security?: Record<string, string[]>[];
  parameters?: JsonSchema[];
  requestBody?: JsonSchema;
  responses: Record<string, JsonSchema>;
}

export type PathItem = Partial<Record<'get' | 'post' | 'put' | 'patch' | 'delete', Operation>>;

export const jsonBody = (schema: JsonSchema, description?: string): JsonSchema => ({
  ...(description ? { description } : {}),
  required: true,
  content: { 'application/json': { schema } },
});

export const jsonResponse = (description: string, schema: JsonSchema, headers?: JsonSchema): JsonSchema => ({
  description,
  ...(headers ? { headers } : {}),
  content: { 'application/json': { schema } },
});

export const errorResponse = (name: string): JsonSchema => ({ $ref: `#/components/responses/${name}` });

export const pathParam = (
  name: string,
  description: string,
  schema: JsonSchema = { type: 'string' },
): JsonSchema => ({
  name,
  in: 'path',
  required: true,
  description,
  schema,
});

export const queryParam = (name: string, description: string, schema: JsonSchema): JsonSchema => ({
  name,
  in: 'query',
  required: false,
  description,
  schema,
});

/** The query every paged list takes (`shared/http/paging.ts`). */
export const pagingParams: JsonSchema[] = [
  queryParam('pageSize', '1-1000, default 100.', { type: 'integer', minimum: 1, maximum: 1000 }),
  queryParam('continuationToken', 'From the previous page.', { type: 'string', maxLength: 2000 }),
];

/** Admin API calls carry a function key (header `x-functions-key` or query `code`). */
export const functionKey: Record<string, string[]>[] = [{ functionKey: [] }, { functionKeyQuery: [] }];
export const anonymous: Record<string, string[]>[] = [];
