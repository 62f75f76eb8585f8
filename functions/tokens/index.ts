import { operatorOf } from '../../shared/http/actor';
import { parseWith, queryOf } from '../../shared/http/requests';
import { handled, json } from '../../shared/http/responses';
import { createLog } from '../../shared/log';
import { services } from '../../shared/services';
import { verifyCustomerToken } from '../../shared/tokens/queues';
import { authStatusQuerySchema, statusCsv } from '../../shared/tokens/views';
import { http, type Trigger } from '../../shared/triggers';
import { scheduled, worker } from '../platform';

/**
 * Token health's triggers: the verification timer (its schedule is the app setting
 * TOKENS_VERIFY_SCHEDULE, every six hours by default), the worker that verifies one customer, and
 * the operators' routes.
 */
export const verifyTokensTimer = scheduled({
  name: 'verifyTokens',
  schedule: '%TOKENS_VERIFY_SCHEDULE%',
  run: async (log) => ({ ...(await services().tokenChecks.fanOut(log)) }),
});

export const verifyTokenWorker = worker({
  name: 'verifyCustomerToken',
  message: verifyCustomerToken,
  handle: async ({ customerId, runId }, job) => {
    const s = services();
    const result = await s.tokenChecks.check(customerId, { actor: 'token-health', log: job.log });
    const outcome = result.outcome === 'verified' ? result.health.status : `skipped:${result.reason}`;
    if (runId) await s.jobs.runs.record(runId, customerId, outcome);
    return { customerId, outcome };
  },
});

export const authStatus = http({
  name: 'authStatus',
  route: 'api/auth-status',
  methods: ['GET'],
  authLevel: 'function',
  handler: handled(async (request) => {
    const q = parseWith(authStatusQuerySchema, queryOf(request), 'query');
    const page = await services().tokenChecks.statusPage(q);
    const csv =
      q.format === 'csv' || (q.format === undefined && /text\/csv/.test(request.headers.get('accept') ?? ''));
    if (!csv) return json(200, page);
    return {
      status: 200,
      headers: {
        'content-type': 'text/csv; charset=utf-8',
        'content-disposition': 'attachment; filename="auth-status.csv"',
        ...(page.continuationToken ? { 'x-continuation-token': page.continuationToken } : {}),
      },
      body: statusCsv(page.items),
    };
  }),
});

export const verifyCustomer = http({
  name: 'verifyCustomer',
  route: 'api/customers/{id}/verify',
  methods: ['POST'],
  authLevel: 'function',
  handler: handled(async (request, context) => {
    const result = await services().tokenChecks.check(request.params.id ?? '', {
      actor: operatorOf(request),
      force: true,
      log: createLog(context),
    });
    return json(200, result.outcome === 'verified' ? { ...result.health, actions: result.actions } : result);
  }),
});

export const verifyAll = http({
  name: 'verifyAllTokens',
  route: 'api/tokens/verify-all',
  methods: ['POST'],
  authLevel: 'function',
  handler: handled(async (request, context) => {
    const run = await services().tokenChecks.verifyAll(operatorOf(request), createLog(context));
    const self = `/api/jobs/${run.runId}`;
    return json(202, { id: run.runId, sent: run.sent, links: { self } }, { location: self });
  }),
});

export const getJob = http({
  name: 'getJob',
  route: 'api/jobs/{id}',
  methods: ['GET'],
  authLevel: 'function',
  handler: handled(async (request) => json(200, await services().jobs.runs.get(request.params.id ?? ''))),
});

export const revokeToken = http({
  name: 'revokeCustomerToken',
  route: 'api/customers/{id}/token',
  methods: ['DELETE'],
  authLevel: 'function',
  handler: handled(async (request) => {
    const result = await services().tokenChecks.revoke(
      request.params.id ?? '',
      operatorOf(request),
      'revoked by an operator',
    );
    return json(200, result);
  }),
});

export const tokensTriggers: Trigger[] = [
  verifyTokensTimer,
  verifyTokenWorker,
  authStatus,
  verifyCustomer,
  verifyAll,
  getJob,
  revokeToken,
];
