import { handled, json } from '../../shared/http/responses';
import { openApiDocument } from '../../shared/openapi/document';
import { services } from '../../shared/services';
import { http } from '../../shared/triggers';

/** The OpenAPI 3.1 document of the webhook, the admin API and the public pages. */
export const openApi = http({
  name: 'openApi',
  route: 'api/openapi.json',
  methods: ['GET'],
  authLevel: 'anonymous',
  handler: handled(async () =>
    json(200, openApiDocument(services().config.portal.publicBaseUrl), {
      'cache-control': 'public, max-age=300',
    }),
  ),
});
