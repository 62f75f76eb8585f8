import { z } from 'zod';
import { changeStatuses } from '../../dialplan/model';
import {
  changeViewSchema,
  diffViewSchema,
  importableRuleSchema,
  importInputSchema,
  pageOf,
  prefixChangeSchema,
  previewInputSchema,
  sbcInputSchema,
  sbcPatchSchema,
  sbcViewSchema,
  scriptViewSchema,
  siteInputSchema,
  siteViewSchema,
  templateSaveSchema,
  templateSummarySchema,
  templateViewSchema,
} from '../../dialplan/views';
import { templateNames } from '../../sbc/templates';
import {
  errorResponse,
  fromZod,
  functionKey,
  jsonBody,
  jsonResponse,
  pagingParams,
  pathParam,
  queryParam,
  type JsonSchema,
  type Operation,
  type PathItem,
} from '../schema';

/** SBC dial plans: SBCs, sites and prefixes, the changes queue, templates and import. */
const sbcId = pathParam('sbcId', 'The SBC id.');
const siteId = pathParam('siteId', 'The site id (unique on its SBC).');
const name = pathParam('name', 'The template.', { type: 'string', enum: templateNames });
const paging = pagingParams;
const unprocessable = {
  description: 'Refused: `error.problems` (templates) or `error.message` say why.',
  content: { 'application/json': { schema: { $ref: '#/components/schemas/Error' } } },
};
const site = fromZod(siteViewSchema);
const change = fromZod(changeViewSchema);
const op = (
  operationId: string,
  summary: string,
  ok: [string, string, JsonSchema | undefined],
  extra: Partial<Operation> = {},
  errors: string[] = ['401', '404'],
): Operation => ({
  operationId,
  tags: ['SBC dial plans'],
  summary,
  security: functionKey,
  ...extra,
  responses: {
    [ok[0]]: ok[2] ? jsonResponse(ok[1], ok[2]) : { description: ok[1] },
    ...Object.fromEntries(
      errors.map((e) => [
        e,
        e === '422'
          ? unprocessable
          : errorResponse(
              {
                '400': 'BadRequest',
                '401': 'Unauthorized',
                '404': 'NotFound',
                '409': 'Conflict',
                '503': 'Unavailable',
              }[e] ?? 'BadRequest',
            ),
      ]),
    ),
  },
});

export const dialplanPaths: Record<string, PathItem> = {
  '/api/sbcs': {
    get: op(
      'listSbcs',
      'SBCs, each with its live status and counts of sites, SIP accounts and rules.',
      ['200', 'A page of SBCs.', fromZod(pageOf(sbcViewSchema))],
      { parameters: paging },
      ['400', '401'],
    ),
    post: op(
      'addSbc',
      'Add an SBC (HTTPS by default); the admin password goes to Key Vault and is never answered.',
      ['201', 'Added.', fromZod(sbcViewSchema)],
      { requestBody: jsonBody(fromZod(sbcInputSchema)) },
      ['400', '401', '409'],
    ),
  },
  '/api/sbcs/{sbcId}': {
    get: op(
      'getSbc',
      'An SBC with its live status (`GET /api/v1/status` on the device).',
      ['200', 'The SBC.', fromZod(sbcViewSchema)],
      {
        parameters: [sbcId],
      },
    ),
    patch: op(
      'updateSbc',
      'Change an SBC (a new admin password goes to Key Vault).',
      ['200', 'Changed.', fromZod(sbcViewSchema)],
      { parameters: [sbcId], requestBody: jsonBody(fromZod(sbcPatchSchema)) },
      ['400', '401', '404', '409'],
    ),
    delete: op(
      'removeSbc',
      'Remove an SBC that has no sites left.',
      ['204', 'Removed.', undefined],
      { parameters: [sbcId] },
      ['401', '404', '409'],
    ),
  },
  '/api/sbcs/{sbcId}/sites': {
    get: op('listSites', "The SBC's sites.", ['200', 'A page of sites.', fromZod(pageOf(siteViewSchema))], {
      parameters: [sbcId, ...paging],
    }),
    post: op(
      'createSite',
      "Create a customer's site and queue its deployment (carrier password to Key Vault).",
      ['202', 'Created; the deployment is queued.', { type: 'object', properties: { site, change } }],
      { parameters: [sbcId], requestBody: jsonBody(fromZod(siteInputSchema)) },
      ['400', '401', '404', '409'],
    ),
  },
  '/api/sbcs/{sbcId}/sites/{siteId}': {
    get: op(
      'getSite',
      'A site with its deployment states on the SBC and Microsoft sides.',
      ['200', 'The site.', site],
      {
        parameters: [sbcId, siteId],
      },
    ),
    delete: op(
      'removeSite',
      "Queue the site's cleanup on the SBC.",
      [
        '202',
        'The cleanup is queued.',
        { type: 'object', properties: { site, change: { oneOf: [change, { type: 'null' }] } } },
      ],
      { parameters: [sbcId, siteId] },
    ),
  },
  '/api/sbcs/{sbcId}/sites/{siteId}/prefixes': {
    post: op(
      'changeSitePrefixes',
      'Add or remove number prefixes; each becomes a queued change.',
      ['202', 'Queued.', { type: 'object', properties: { site, changes: { type: 'array', items: change } } }],
      { parameters: [sbcId, siteId], requestBody: jsonBody(fromZod(prefixChangeSchema)) },
      ['400', '401', '404', '409'],
    ),
  },
  '/api/sbcs/{sbcId}/sites/{siteId}/microsoft-script': {
    get: op(
      'getMicrosoftScript',
      'The PowerShell for the Microsoft side Graph cannot do (PSTN gateway, voice route, routing policy).',
      ['200', 'The script.', fromZod(scriptViewSchema)],
      { parameters: [sbcId, siteId] },
    ),
  },
  '/api/sbcs/{sbcId}/sites/{siteId}/microsoft-done': {
    post: op(
      'markMicrosoftDone',
      'Record that the operator ran the Microsoft-side script.',
      ['200', 'The site.', site],
      {
        parameters: [sbcId, siteId],
      },
    ),
  },
  '/api/sbcs/{sbcId}/import': {
    get: op(
      'listImportableRules',
      "Dial-plan rules in the SBC's running configuration that no site has (same name, other tag: listed apart).",
      [
        '200',
        'Candidates.',
        fromZod(
          z.object({
            items: z.array(
              importableRuleSchema
                .omit({ index: true, prefix: true })
                .extend({ prefixes: z.array(z.string()) }),
            ),
          }),
        ),
      ],
      { parameters: [sbcId] },
      ['401', '404', '503'],
    ),
    post: op(
      'importRules',
      'Import chosen rules as customers (when new) and deployed sites.',
      ['201', 'Imported sites.', fromZod(z.object({ items: z.array(siteViewSchema) }))],
      { parameters: [sbcId], requestBody: jsonBody(fromZod(importInputSchema)) },
      ['400', '401', '404', '409', '503'],
    ),
  },
  '/api/sbc-changes': {
    get: op(
      'listSbcChanges',
      'Changes queued for the SBCs, e.g. `status=failed` for the parked ones.',
      ['200', 'A page of changes.', fromZod(pageOf(changeViewSchema))],
      {
        parameters: [
          queryParam('status', 'Only changes in this state.', { type: 'string', enum: [...changeStatuses] }),
          queryParam('sbcId', "Only this SBC's changes.", { type: 'string' }),
          ...paging,
        ],
      },
      ['400', '401'],
    ),
  },
  '/api/sbc-changes/{sbcId}/{changeId}': {
    get: op(
      'getSbcChange',
      'A change: its state, attempts, error and what of it the device has.',
      ['200', 'The change.', change],
      {
        parameters: [sbcId, pathParam('changeId', 'The change id.')],
      },
    ),
  },
  '/api/sbc-changes/{sbcId}/{changeId}/retry': {
    post: op(
      'retrySbcChange',
      'Queue a failed change again.',
      ['202', 'Queued.', change],
      {
        parameters: [sbcId, pathParam('changeId', 'The change id.')],
      },
      ['401', '404', '409'],
    ),
  },
  '/api/sbc-templates': {
    get: op(
      'listSbcTemplates',
      'The script templates, each at its newest version.',
      ['200', 'Templates.', fromZod(z.object({ items: z.array(templateSummarySchema) }))],
      {},
      ['401'],
    ),
  },
  '/api/sbc-templates/{name}': {
    get: op(
      'getSbcTemplate',
      'A template (newest, or `version`).',
      ['200', 'The template.', fromZod(templateViewSchema)],
      {
        parameters: [
          name,
          queryParam('version', 'A version (1 is the shipped default).', { type: 'integer', minimum: 1 }),
        ],
      },
    ),
    post: op(
      'saveSbcTemplate',
      'Save a new version; refused when it does not compile, names an unknown variable or misses a required one.',
      ['201', 'Saved.', fromZod(templateViewSchema)],
      { parameters: [name], requestBody: jsonBody(fromZod(templateSaveSchema)) },
      ['400', '401', '404', '409', '422'],
    ),
  },
  '/api/sbc-templates/{name}/versions': {
    get: op(
      'listSbcTemplateVersions',
      'Every version, newest first.',
      ['200', 'Versions.', fromZod(z.object({ items: z.array(templateViewSchema) }))],
      { parameters: [name] },
    ),
  },
  '/api/sbc-templates/{name}/diff': {
    get: op(
      'diffSbcTemplate',
      'A unified diff of two versions.',
      ['200', 'The diff.', fromZod(diffViewSchema)],
      {
        parameters: [
          name,
          { ...queryParam('from', 'Older version.', { type: 'integer', minimum: 1 }), required: true },
          { ...queryParam('to', 'Newer version.', { type: 'integer', minimum: 1 }), required: true },
        ],
      },
      ['400', '401', '404'],
    ),
  },
  '/api/sbc-templates/{name}/preview': {
    post: op(
      'previewSbcTemplate',
      'Render a template for a site (passwords masked).',
      ['200', 'The script.', fromZod(scriptViewSchema)],
      { parameters: [name], requestBody: jsonBody(fromZod(previewInputSchema)) },
      ['400', '401', '404', '422'],
    ),
  },
};
