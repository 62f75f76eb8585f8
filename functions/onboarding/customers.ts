import { z } from 'zod';
import { operatorOf } from '../../shared/http/actor';
import { parseWith, queryOf, readJson } from '../../shared/http/requests';
import { handled, json } from '../../shared/http/responses';
import { viewCustomer } from '../../shared/onboarding/customers';
import { customerStatuses } from '../../shared/onboarding/model';
import { services } from '../../shared/services';
import { http } from '../../shared/triggers';

export const createCustomer = http({
  name: 'createCustomer',
  route: 'api/customers',
  methods: ['POST'],
  authLevel: 'function',
  handler: handled(async (request) => {
    const { value } = await readJson(request, z.unknown());
    const customer = await services().customers.create(value, operatorOf(request));
    return json(201, viewCustomer(customer), {
      location: `/api/customers/${encodeURIComponent(customer.id)}`,
    });
  }),
});

const listQuery = z.object({
  status: z.enum(customerStatuses).optional(),
  pageSize: z.coerce.number().int().min(1).max(1000).optional(),
  continuationToken: z.string().max(2000).optional(),
});

export const listCustomers = http({
  name: 'listCustomers',
  route: 'api/customers',
  methods: ['GET'],
  authLevel: 'function',
  handler: handled(async (request) => {
    const q = parseWith(listQuery, queryOf(request), 'query');
    const page = await services().customers.list(q);
    return json(200, {
      items: page.items.map(viewCustomer),
      continuationToken: page.continuationToken ?? null,
    });
  }),
});

export const getCustomer = http({
  name: 'getCustomer',
  route: 'api/customers/{id}',
  methods: ['GET'],
  authLevel: 'function',
  handler: handled(async (request) => {
    const customer = await services().customers.get(request.params.id ?? '');
    return json(200, viewCustomer(customer));
  }),
});

/** Corrects a customer's details; a new admin address takes effect with the next invitation. */
export const updateCustomer = http({
  name: 'updateCustomer',
  route: 'api/customers/{id}',
  methods: ['PATCH'],
  authLevel: 'function',
  handler: handled(async (request) => {
    const { value } = await readJson(request, z.unknown());
    const customer = await services().customers.update(request.params.id ?? '', value, operatorOf(request));
    return json(200, viewCustomer(customer));
  }),
});
