import { describe, expect, it } from 'vitest';
import { stepRunner, type Steps } from '../../../../shared/jobs/steps';

interface Item {
  steps: Steps;
  updatedAt: string;
}

/** A row kept in memory the way a table keeps it: each save applies the change to what is stored. */
function stored(initial: Item) {
  let row = initial;
  return {
    read: () => row,
    save: async (change: (current: Item) => Item) => {
      row = change(row);
      return row;
    },
  };
}

describe('step markers', () => {
  const now = () => new Date('2026-11-30T10:00:00Z');

  it('runs a step once and saves its result; a second run of the item skips it and gets the result back', async () => {
    const row = stored({ steps: {}, updatedAt: '' });
    let sent = 0;
    const first = stepRunner({ item: row.read(), save: row.save, now });
    expect(await first.step('invitation', async () => ({ id: `inv-${++sent}` }))).toEqual({ id: 'inv-1' });
    expect(row.read().steps.invitation).toEqual({ at: '2026-11-30T10:00:00.000Z', result: { id: 'inv-1' } });

    // The worker died here and the item runs again from what was stored.
    const again = stepRunner({ item: row.read(), save: row.save, now });
    expect(again.has('invitation')).toBe(true);
    expect(await again.step('invitation', async () => ({ id: `inv-${++sent}` }))).toEqual({ id: 'inv-1' });
    expect(sent).toBe(1);
  });

  it('does not mark a step whose work failed, so the next run does it', async () => {
    const row = stored({ steps: {}, updatedAt: '' });
    const runner = stepRunner({ item: row.read(), save: row.save, now });
    await expect(runner.step('mail', () => Promise.reject(new Error('e-mail down')))).rejects.toThrow(
      'e-mail down',
    );
    expect(runner.has('mail')).toBe(false);
    expect(row.read().steps).toEqual({});
  });
});
