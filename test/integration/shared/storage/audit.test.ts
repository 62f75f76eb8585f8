import { describe, expect, it } from 'vitest';
import { testServices } from '../../../helpers/stack';

/** The audit log against Azurite: keyed entries are recorded once, and listings show only entries. */
describe('the audit log', () => {
  it('keeps one entry for a key recorded twice (a run repeated after a crash), and lists no markers', async () => {
    const { audit } = testServices();
    const entry = {
      actor: 'replication',
      action: 'replication.user.removed',
      customerId: 'Audit-1',
      target: 'u1',
    };
    const first = await audit.record({ ...entry, key: 'change-1' });
    const again = await audit.record({ ...entry, key: 'change-1' });
    const other = await audit.record({ ...entry, key: 'change-2' });
    await audit.record(entry);
    await audit.record(entry);
    expect(first).toMatchObject({ customerId: 'audit-1', action: 'replication.user.removed' });
    expect(again).toBeUndefined();
    expect(other).toBeDefined();
    const listed = await audit.list({ customerId: 'audit-1' });
    expect(listed.items).toHaveLength(4);
    expect(listed.items.every((e) => /^\d{13}-/.test(e.id))).toBe(true);
    expect(listed.items.filter((e) => e.id === first?.id)).toHaveLength(1);
  });
});
