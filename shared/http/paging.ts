import { z } from 'zod';

/**
 * Every list is paged: the query every list route takes and the shape every list answers, shared by
 * the handlers and the OpenAPI document. The continuation token is Table Storage's, passed through.
 */
export const pagingQuerySchema = z.object({
  pageSize: z.coerce.number().int().min(1).max(1000).default(100),
  continuationToken: z.string().max(2000).optional(),
});
export type PagingQuery = z.infer<typeof pagingQuerySchema>;

export const pageOf = <T extends z.ZodType>(item: T) =>
  z.object({ items: z.array(item), continuationToken: z.string().nullable() });
