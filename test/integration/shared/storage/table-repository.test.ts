import { beforeAll, describe, expect, it } from 'vitest';
import { z } from 'zod';
import { ConflictError, ValidationError } from '../../../../shared/errors';
import { createStorageClients } from '../../../../shared/storage/clients';
import { TableRepository, type TransactionStep } from '../../../../shared/storage/table-repository';
import { testSettings } from '../../../helpers/stack';
import { loadConfig } from '../../../../shared/config';

const siteSchema = z.object({
  customerId: z.string(),
  site: z.string(),
  prefixes: z.array(z.string()),
  calls: z.number().int().nonnegative(),
});
type Site = z.infer<typeof siteSchema>;

let sites: TableRepository<Site>;

beforeAll(() => {
  const config = loadConfig(testSettings());
  const storage = createStorageClients(config.storage, {
    getToken: () => Promise.reject(new Error('connection string in use')),
  });
  sites = new TableRepository(storage.table('sites'), {
    entityName: 'site',
    schema: siteSchema,
    keys: (s) => ({ partitionKey: s.customerId, rowKey: s.site }),
    jsonFields: ['prefixes'],
  });
});

const site = (customerId: string, name: string, calls = 0): Site => ({
  customerId,
  site: name,
  prefixes: ['+4420', '+4421'],
  calls,
});

describe('TableRepository against Azurite', () => {
  it('round-trips typed values, nested fields included', async () => {
    await sites.create(site('contoso', 'london'));
    const stored = await sites.get('contoso', 'london');
    expect(stored?.value).toEqual(site('contoso', 'london'));
    expect(stored?.etag).toMatch(/^W\//);
    expect(await sites.get('contoso', 'nowhere')).toBeUndefined();
  });

  it('refuses to create the same row twice', async () => {
    await sites.create(site('fabrikam', 'paris'));
    await expect(sites.create(site('fabrikam', 'paris', 5))).rejects.toBeInstanceOf(ConflictError);
    expect((await sites.get('fabrikam', 'paris'))?.value.calls).toBe(0);
  });

  it('turns a stale write into a conflict instead of overwriting', async () => {
    const first = await sites.create(site('northwind', 'oslo'));
    const winner = await sites.update({ ...first.value, calls: 1 }, first.etag);
    await expect(sites.update({ ...first.value, calls: 2 }, first.etag)).rejects.toBeInstanceOf(
      ConflictError,
    );
    expect((await sites.get('northwind', 'oslo'))?.value.calls).toBe(1);
    await expect(sites.delete('northwind', 'oslo', first.etag)).rejects.toBeInstanceOf(ConflictError);
    expect(await sites.delete('northwind', 'oslo', winner.etag)).toBe(true);
  });

  it('loses no update when many writers mutate one row at once', async () => {
    await sites.create(site('woodgrove', 'rome'));
    await Promise.all(
      Array.from({ length: 10 }, () =>
        sites.mutate('woodgrove', 'rome', (s) => ({ ...s, calls: s.calls + 1 }), 30),
      ),
    );
    expect((await sites.get('woodgrove', 'rome'))?.value.calls).toBe(10);
  });

  it('checks values against the schema before writing', async () => {
    await expect(sites.create({ ...site('tailspin', 'x'), calls: -1 })).rejects.toBeInstanceOf(
      ValidationError,
    );
    expect(await sites.get('tailspin', 'x')).toBeUndefined();
  });

  it('commits a transaction of 100 operations in one partition as a whole', async () => {
    const steps: TransactionStep<Site>[] = Array.from({ length: 100 }, (_, i) => ({
      op: 'create',
      value: site('litware', `site-${String(i).padStart(3, '0')}`),
    }));
    await sites.transaction(steps);
    const page = await sites.list({ partitionKey: 'litware', pageSize: 1000 });
    expect(page.items).toHaveLength(100);
  });

  it('changes nothing when one operation of a transaction fails', async () => {
    await sites.create(site('adatum', 'existing'));
    await expect(
      sites.transaction([
        { op: 'create', value: site('adatum', 'new-1') },
        { op: 'create', value: site('adatum', 'existing') },
        { op: 'create', value: site('adatum', 'new-2') },
      ]),
    ).rejects.toBeInstanceOf(ConflictError);
    const page = await sites.list({ partitionKey: 'adatum' });
    expect(page.items.map((s) => s.value.site)).toEqual(['existing']);
  });

  it('refuses transactions over 100 operations or across partitions before sending them', async () => {
    const many: TransactionStep<Site>[] = Array.from({ length: 101 }, (_, i) => ({
      op: 'create',
      value: site('proseware', `s${i}`),
    }));
    await expect(sites.transaction(many)).rejects.toBeInstanceOf(ValidationError);
    await expect(
      sites.transaction([
        { op: 'create', value: site('proseware', 'a') },
        { op: 'create', value: site('wingtip', 'b') },
      ]),
    ).rejects.toBeInstanceOf(ValidationError);
    expect((await sites.list({ partitionKey: 'proseware' })).items).toHaveLength(0);
  });

  it('pages through rows with continuation tokens', async () => {
    await sites.transaction(
      Array.from({ length: 25 }, (_, i) => ({ op: 'create' as const, value: site('fourthcoffee', `s${i}`) })),
    );
    const seen: string[] = [];
    let token: string | undefined;
    let pages = 0;
    do {
      const page = await sites.list({ partitionKey: 'fourthcoffee', pageSize: 10, continuationToken: token });
      seen.push(...page.items.map((s) => s.value.site));
      token = page.continuationToken;
      pages++;
    } while (token);
    expect(pages).toBe(3);
    expect(new Set(seen).size).toBe(25);
    const all: string[] = [];
    for await (const s of sites.listAll({ partitionKey: 'fourthcoffee' })) all.push(s.value.site);
    expect(all.sort()).toEqual(seen.sort());
  });
});
