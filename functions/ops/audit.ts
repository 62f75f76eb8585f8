import { z } from 'zod';
import { parseWith, queryOf } from '../../shared/http/requests';
import { handled, json } from '../../shared/http/responses';
import { customerIdSchema } from '../../shared/onboarding/validation';
import { services } from '../../shared/services';
import { http } from '../../shared/triggers';

const auditQuery = z.object({
  customerId: customerIdSchema.optional(),
  limit: z.coerce.number().int().min(1).max(1000).optional(),
  continuationToken: z.string().max(2000).optional(),
});

/** Who changed what, newest first: one customer's history, or the provider-wide one. */
export const listAudit = http({
  name: 'listAudit',
  route: 'api/audit',
  methods: ['GET'],
  authLevel: 'function',
  handler: handled(async (request) => {
    const q = parseWith(auditQuery, queryOf(request), 'query');
    const page = await services().audit.list(q);
    return json(200, { items: page.items, continuationToken: page.continuationToken ?? null });
  }),
});
