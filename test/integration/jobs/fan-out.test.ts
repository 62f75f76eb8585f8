import { describe, expect, it } from 'vitest';
import { fanOut, pagesOf } from '../../../shared/jobs';
import { silentLog } from '../../../shared/log';
import { CUSTOMER_PARTITION } from '../../../shared/onboarding/repositories';
import { serviceGate } from '../../../shared/onboarding/lifecycle';
import type { Customer } from '../../../shared/onboarding/model';
import { testServices } from '../../helpers/stack';

/** A timer's fan-out over every customer: page by page, the service gate applied, bounded in flight. */
const services = testServices();

describe('fan-out over customers', () => {
  it('sends one message per serviceable customer, skips the rest with the reason, and never exceeds its bound', async () => {
    const states: Pick<Customer, 'status' | 'consentState'>[] = [
      ...Array.from({ length: 23 }, () => ({
        status: 'active' as const,
        consentState: 'consented' as const,
      })),
      { status: 'suspended', consentState: 'consented' },
      { status: 'active', consentState: 'needs_consent' },
      { status: 'active', consentState: 'invited' },
      { status: 'cancelled', consentState: 'none' },
    ];
    for (const [i, s] of states.entries()) {
      await services.customers.create(
        { id: `fan-${i}`, name: `Customer ${i}`, adminEmail: `admin${i}@fan.example` },
        'test',
      );
      await services.onboarding.customers.mutate(CUSTOMER_PARTITION, `fan-${i}`, (c) => ({ ...c, ...s }));
    }
    let inFlight = 0;
    let peak = 0;
    const sent: string[] = [];
    const pageSizes: number[] = [];
    const result = await fanOut({
      pages: pagesOf(async (token) => {
        const page = await services.customers.list({
          pageSize: 5,
          ...(token ? { continuationToken: token } : {}),
        });
        pageSizes.push(page.items.length);
        return page;
      }),
      skip: serviceGate,
      send: async (c) => {
        inFlight++;
        peak = Math.max(peak, inFlight);
        await new Promise((r) => setTimeout(r, 5));
        sent.push(c.id);
        inFlight--;
      },
      concurrency: 4,
      log: silentLog,
    });
    expect(result).toEqual({
      sent: 23,
      skipped: 4,
      failed: 0,
      skippedBy: { suspended: 1, needs_consent: 1, not_consented: 1, cancelled: 1 },
    });
    expect(new Set(sent).size).toBe(23);
    expect(peak).toBeLessThanOrEqual(4);
    expect(Math.max(...pageSizes)).toBeLessThanOrEqual(5);
  });
});
