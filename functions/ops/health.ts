import { handled, json } from '../../shared/http/responses';
import { services } from '../../shared/services';
import { http } from '../../shared/triggers';

/** Whether background work is paused for maintenance; null when storage does not say in time. */
const paused = () =>
  Promise.race([
    services()
      .jobs.maintenance.isPaused()
      .catch(() => null),
    new Promise<null>((resolve) =>
      setTimeout(() => resolve(null), services().config.health.timeoutMs).unref(),
    ),
  ]);

/** A report this recent answers anonymous callers, so polling cannot put load on the dependencies. */
const ANONYMOUS_MAX_AGE_MS = 5000;

/** Anyone may ask whether the service is up; only the overall status and the names of what is down. */
export const health = http({
  name: 'health',
  route: 'api/health',
  methods: ['GET'],
  authLevel: 'anonymous',
  handler: handled(async () => {
    const report = await services().health.check({ maxAgeMs: ANONYMOUS_MAX_AGE_MS });
    const down = report.components.filter((c) => c.status === 'down').map((c) => c.name);
    return json(report.status === 'healthy' ? 200 : 503, {
      status: report.status,
      checkedAt: report.checkedAt,
      down,
      paused: await paused(),
    });
  }),
});

/** Operators (function key) get each component with its latency and the reason it is down. */
export const healthDetails = http({
  name: 'healthDetails',
  route: 'api/health/details',
  methods: ['GET'],
  authLevel: 'function',
  handler: handled(async () => {
    const report = await services().health.check();
    return json(report.status === 'healthy' ? 200 : 503, { ...report, paused: await paused() });
  }),
});
