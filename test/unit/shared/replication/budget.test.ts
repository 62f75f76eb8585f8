import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  createGraphBudget,
  windowWait,
  WINDOW_SLACK_MS,
  type Spend,
} from '../../../../shared/replication/budget';
import { packIds } from '../../../../shared/replication/rules';

/** The most units any window of `windowMs` holds. */
function peak(spent: readonly Spend[], windowMs: number): number {
  let most = 0;
  for (const s of spent) {
    const inWindow = spent.filter((x) => x.at >= s.at && x.at < s.at + windowMs);
    most = Math.max(
      most,
      inWindow.reduce((a, x) => a + x.units, 0),
    );
  }
  return most;
}

describe('resource-unit windows', () => {
  it('lets units through until the limit, then says when the oldest leaves the window', () => {
    const spent = [
      { at: 0, units: 4 },
      { at: 3_000, units: 4 },
    ];
    expect(windowWait(spent, 5_000, 2, 10, 10_000)).toBe(0);
    expect(windowWait(spent, 5_000, 3, 10, 10_000)).toBe(5_000);
    expect(windowWait(spent, 5_000, 7, 10, 10_000)).toBe(8_000);
    expect(windowWait(spent, 10_000, 7, 10, 10_000)).toBe(3_000);
  });

  it('never lets a tenant or the whole app exceed its budget in any window, whatever the requests', () => {
    fc.assert(
      fc.property(
        fc.array(
          fc.record({
            tenant: fc.constantFrom('a', 'b', 'c'),
            units: fc.integer({ min: 1, max: 5 }),
            gap: fc.integer({ min: 0, max: 3_000 }),
          }),
          { maxLength: 200 },
        ),
        fc.integer({ min: 5, max: 30 }),
        fc.integer({ min: 10, max: 60 }),
        (requests, tenantLimit, appLimit) => {
          let clock = 0;
          const budget = createGraphBudget({ now: () => clock, appUnits: appLimit });
          const sent: (Spend & { tenant: string })[] = [];
          for (const r of requests) {
            clock += r.gap;
            // A caller that waits as told, as the Graph reader does.
            for (let tries = 0; ; tries++) {
              const wait = budget.reserve(r.tenant, tenantLimit, r.units);
              if (wait === 0) break;
              expect(wait).toBeGreaterThan(0);
              expect(tries).toBeLessThan(100);
              clock += wait;
            }
            sent.push({ tenant: r.tenant, at: clock, units: Math.min(r.units, tenantLimit) });
          }
          for (const t of ['a', 'b', 'c'])
            expect(
              peak(
                sent.filter((s) => s.tenant === t),
                10_000,
              ),
            ).toBeLessThanOrEqual(tenantLimit);
          expect(peak(sent, 20_000)).toBeLessThanOrEqual(appLimit);
        },
      ),
      { numRuns: 200 },
    );
  });

  it('charges what Graph says a request cost (x-ms-resource-unit) beyond what was reserved', () => {
    let clock = 0;
    const budget = createGraphBudget({ now: () => clock, appUnits: 1_000 });
    expect(budget.reserve('t', 10, 1)).toBe(0);
    budget.correct('t', 1, 9);
    expect(budget.reserve('t', 10, 1)).toBe(0);
    expect(budget.reserve('t', 10, 1)).toBeGreaterThanOrEqual(10_000);
    clock = 10_000 + WINDOW_SLACK_MS;
    expect(budget.reserve('t', 10, 1)).toBe(0);
  });
});

describe('packed ids', () => {
  it('keeps every id, in parts no longer than a Table string property', () => {
    fc.assert(
      fc.property(fc.array(fc.uuid(), { maxLength: 3_000 }), (ids) => {
        const parts = packIds(ids, 1_000);
        for (const p of parts) expect(p.length).toBeLessThanOrEqual(1_000);
        expect(parts.flatMap((p) => p.split('\n'))).toEqual(ids);
      }),
      { numRuns: 30 },
    );
  });
});
