import { z } from 'zod';
import { sbcWake } from '../../shared/dialplan/queues';
import { changeQuerySchema } from '../../shared/dialplan/views';
import { operatorOf } from '../../shared/http/actor';
import { pagingQuerySchema } from '../../shared/http/paging';
import { parseWith, queryOf, readJson } from '../../shared/http/requests';
import { handled, json } from '../../shared/http/responses';
import { services } from '../../shared/services';
import { http, type HttpMethod, type Trigger } from '../../shared/triggers';
import { scheduled, worker } from '../platform';

/**
 * SBC dial plans: the admin API (SBCs, sites and prefixes, changes, templates, import), the SBC
 * worker draining one SBC's mailbox at a time, and the timer that takes cancellations' cleanups.
 */
const dp = () => services().dialplan;
const body = async (request: Parameters<typeof queryOf>[0]) => (await readJson(request, z.unknown())).value;
const page = (request: Parameters<typeof queryOf>[0]) => {
  const q = parseWith(pagingQuerySchema, queryOf(request), 'query');
  return { pageSize: q.pageSize, ...(q.continuationToken ? { continuationToken: q.continuationToken } : {}) };
};
const route = (name: string, path: string, methods: HttpMethod[], fn: Parameters<typeof handled>[0]) =>
  http({ name, route: path, methods, authLevel: 'function', handler: handled(fn) });
const p = (request: { params: Record<string, string> }, name: string) => request.params[name] ?? '';

export const dialplanRoutes: Trigger[] = [
  route('listSbcs', 'api/sbcs', ['GET'], async (r) => json(200, await dp().sbcs.list(page(r)))),
  route('addSbc', 'api/sbcs', ['POST'], async (r) =>
    json(201, await dp().sbcs.add(await body(r), operatorOf(r))),
  ),
  route('getSbc', 'api/sbcs/{sbcId}', ['GET'], async (r) => json(200, await dp().sbcs.get(p(r, 'sbcId')))),
  route('updateSbc', 'api/sbcs/{sbcId}', ['PATCH'], async (r) =>
    json(200, await dp().sbcs.update(p(r, 'sbcId'), await body(r), operatorOf(r))),
  ),
  route('removeSbc', 'api/sbcs/{sbcId}', ['DELETE'], async (r) => {
    await dp().sbcs.remove(p(r, 'sbcId'), operatorOf(r));
    return { status: 204 };
  }),
  route('listSites', 'api/sbcs/{sbcId}/sites', ['GET'], async (r) =>
    json(200, await dp().sites.list(p(r, 'sbcId'), page(r))),
  ),
  route('createSite', 'api/sbcs/{sbcId}/sites', ['POST'], async (r) =>
    json(202, await dp().sites.create(p(r, 'sbcId'), await body(r), operatorOf(r))),
  ),
  route('getSite', 'api/sbcs/{sbcId}/sites/{siteId}', ['GET'], async (r) =>
    json(200, await dp().sites.get(p(r, 'sbcId'), p(r, 'siteId'))),
  ),
  route('removeSite', 'api/sbcs/{sbcId}/sites/{siteId}', ['DELETE'], async (r) =>
    json(202, await dp().sites.remove(p(r, 'sbcId'), p(r, 'siteId'), operatorOf(r))),
  ),
  route('changeSitePrefixes', 'api/sbcs/{sbcId}/sites/{siteId}/prefixes', ['POST'], async (r) =>
    json(202, await dp().sites.changePrefixes(p(r, 'sbcId'), p(r, 'siteId'), await body(r), operatorOf(r))),
  ),
  route('getMicrosoftScript', 'api/sbcs/{sbcId}/sites/{siteId}/microsoft-script', ['GET'], async (r) =>
    json(200, await dp().sites.microsoftScript(p(r, 'sbcId'), p(r, 'siteId'))),
  ),
  route('markMicrosoftDone', 'api/sbcs/{sbcId}/sites/{siteId}/microsoft-done', ['POST'], async (r) =>
    json(200, await dp().sites.markMicrosoftDone(p(r, 'sbcId'), p(r, 'siteId'), operatorOf(r))),
  ),
  route('listImportableRules', 'api/sbcs/{sbcId}/import', ['GET'], async (r) =>
    json(200, await dp().importer.candidates(p(r, 'sbcId'))),
  ),
  route('importRules', 'api/sbcs/{sbcId}/import', ['POST'], async (r) =>
    json(201, await dp().importer.import(p(r, 'sbcId'), await body(r), operatorOf(r))),
  ),
  route('listSbcChanges', 'api/sbc-changes', ['GET'], async (r) => {
    const q = parseWith(changeQuerySchema, queryOf(r), 'query');
    return json(
      200,
      await dp().changes.list({
        pageSize: q.pageSize,
        ...(q.status ? { status: q.status } : {}),
        ...(q.sbcId ? { sbcId: q.sbcId } : {}),
        ...(q.continuationToken ? { continuationToken: q.continuationToken } : {}),
      }),
    );
  }),
  route('getSbcChange', 'api/sbc-changes/{sbcId}/{changeId}', ['GET'], async (r) =>
    json(200, await dp().changes.get(p(r, 'sbcId'), p(r, 'changeId'))),
  ),
  route('retrySbcChange', 'api/sbc-changes/{sbcId}/{changeId}/retry', ['POST'], async (r) =>
    json(202, await dp().changes.retry(p(r, 'sbcId'), p(r, 'changeId'), operatorOf(r))),
  ),
  route('listSbcTemplates', 'api/sbc-templates', ['GET'], async () =>
    json(200, { items: await dp().templates.list() }),
  ),
  route('getSbcTemplate', 'api/sbc-templates/{name}', ['GET'], async (r) => {
    const q = parseWith(
      z.object({ version: z.coerce.number().int().positive().optional() }),
      queryOf(r),
      'query',
    );
    return json(200, await dp().templates.get(p(r, 'name'), q.version));
  }),
  route('saveSbcTemplate', 'api/sbc-templates/{name}', ['POST'], async (r) =>
    json(201, await dp().templates.save(p(r, 'name'), await body(r), operatorOf(r))),
  ),
  route('listSbcTemplateVersions', 'api/sbc-templates/{name}/versions', ['GET'], async (r) =>
    json(200, { items: await dp().templates.versions(p(r, 'name')) }),
  ),
  route('diffSbcTemplate', 'api/sbc-templates/{name}/diff', ['GET'], async (r) => {
    const q = parseWith(
      z.object({ from: z.coerce.number().int().positive(), to: z.coerce.number().int().positive() }),
      queryOf(r),
      'query',
    );
    return json(200, await dp().templates.diff(p(r, 'name'), q.from, q.to));
  }),
  route('previewSbcTemplate', 'api/sbc-templates/{name}/preview', ['POST'], async (r) => {
    const v = parseWith(
      z.object({
        sbcId: z.string().min(1),
        siteId: z.string().min(1),
        version: z.number().int().positive().optional(),
      }),
      await body(r),
    );
    return json(200, await dp().templates.preview(p(r, 'name'), v.sbcId, v.siteId, v.version));
  }),
];

/** One SBC at a time: whoever holds the SBC's lease pushes everything pending for it as one script. */
export const applySbcChanges = worker({
  name: 'applySbcChanges',
  message: sbcWake,
  handle: async ({ key }, job) => ({ sbcId: key, ...(await dp().apply(key, job.owner, job.log)) }),
});

/** Cancellations leave cleanups in orders' table; each becomes a cleanup change per site of the customer. */
export const consumeSbcCleanups = scheduled({
  name: 'consumeSbcCleanups',
  schedule: '45 * * * * *',
  run: async (log) => dp().consumeCleanups(log),
});

export const dialplanTriggers: Trigger[] = [...dialplanRoutes, applySbcChanges, consumeSbcCleanups];
