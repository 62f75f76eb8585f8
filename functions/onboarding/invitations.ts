import { z } from 'zod';
import { operatorOf } from '../../shared/http/actor';
import { parseWith, queryOf, readJson } from '../../shared/http/requests';
import { handled, json } from '../../shared/http/responses';
import { invitationStatuses } from '../../shared/onboarding/model';
import { customerIdSchema } from '../../shared/onboarding/validation';
import { services } from '../../shared/services';
import { http } from '../../shared/triggers';

/** Sends a new invitation; the link is in this answer only, for the operator who asked. */
export const sendInvitation = http({
  name: 'sendInvitation',
  route: 'api/customers/{id}/invitations',
  methods: ['POST'],
  authLevel: 'function',
  handler: handled(async (request) => {
    const sent = await services().invitations.send(request.params.id ?? '', operatorOf(request));
    return json(201, { ...sent.invitation, url: sent.url });
  }),
});

const listQuery = z.object({
  customerId: customerIdSchema.optional(),
  status: z.enum(invitationStatuses).optional(),
  pageSize: z.coerce.number().int().min(1).max(1000).optional(),
  continuationToken: z.string().max(2000).optional(),
});

export const listInvitations = http({
  name: 'listInvitations',
  route: 'api/invitations',
  methods: ['GET'],
  authLevel: 'function',
  handler: handled(async (request) => {
    const q = parseWith(listQuery, queryOf(request), 'query');
    const page = await services().invitations.page(q);
    return json(200, { items: page.items, continuationToken: page.continuationToken ?? null });
  }),
});

const revokeBody = z.object({ reason: z.string().trim().min(1).max(500).optional() });

export const revokeInvitation = http({
  name: 'revokeInvitation',
  route: 'api/invitations/{id}/revoke',
  methods: ['POST'],
  authLevel: 'function',
  handler: handled(async (request) => {
    const body = (await readJson(request, revokeBody.optional(), { optional: true })).value ?? {};
    const view = await services().invitations.revoke(
      request.params.id ?? '',
      operatorOf(request),
      body.reason ?? 'withdrawn by an operator',
    );
    return json(200, view);
  }),
});

export const getInvitationSettings = http({
  name: 'getInvitationSettings',
  route: 'api/settings/invitation',
  methods: ['GET'],
  authLevel: 'function',
  handler: handled(async () => json(200, await services().invitationSettings.get())),
});

export const updateInvitationSettings = http({
  name: 'updateInvitationSettings',
  route: 'api/settings/invitation',
  methods: ['PUT', 'PATCH'],
  authLevel: 'function',
  handler: handled(async (request) => {
    const { value } = await readJson(request, z.unknown());
    return json(200, await services().invitationSettings.update(value, operatorOf(request)));
  }),
});
