import { readBytes, requireJsonContentType } from '../../shared/http/requests';
import { handled, json } from '../../shared/http/responses';
import { MAX_BODY_BYTES } from '../../shared/orders/intake';
import { createLog } from '../../shared/log';
import { SIGNATURE_HEADER } from '../../shared/orders/signature';
import { services } from '../../shared/services';
import { http } from '../../shared/triggers';

/**
 * The ordering system's webhook. Anonymous at the platform: the HMAC signature is the
 * authentication (see docs/orders-webhook.md), checked before anything is stored.
 */
export const receiveOrderEvent = http({
  name: 'receiveOrderEvent',
  route: 'api/orders/events',
  methods: ['POST'],
  authLevel: 'anonymous',
  handler: handled(async (request, context) => {
    // The raw bytes: the signature is over them exactly, so nothing may decode or re-encode them first.
    requireJsonContentType(request);
    const body = await readBytes(request, MAX_BODY_BYTES);
    const answer = await services().orders.intake.receive(
      { signature: request.headers.get(SIGNATURE_HEADER), body },
      createLog(context),
    );
    return json(answer.status, answer.body, answer.headers);
  }),
});
