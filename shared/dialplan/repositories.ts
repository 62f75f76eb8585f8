import type { DueIndex } from '../jobs';
import { WorkTable } from '../jobs';
import { tableKey } from '../jobs/rules';
import type { StorageClients } from '../storage/clients';
import { TableRepository } from '../storage/table-repository';
import { z } from 'zod';
import {
  changeRowSchema,
  sbcRowSchema,
  siteRowSchema,
  templateVersionSchema,
  type ChangeRow,
  type SbcRow,
  type SiteRow,
  type TemplateVersion,
} from './model';

/**
 * The dial-plan tables: `sbcs` (one partition), `sbcsites` (by SBC), `sbcsitesbycustomer` (the index
 * a cancellation reads), `sbcchanges` (the work items, by SBC: what the worker reads is one partition)
 * and `sbctemplates` (one partition, newest version first within each template).
 */
export const SBC_PARTITION = 'sbc';
export const TEMPLATE_PARTITION = 'template';
const MAX_VERSION = 999_999;

export const templateRowKey = (name: string, version: number): string =>
  `${name}|${String(MAX_VERSION - version).padStart(6, '0')}`;

const siteIndexSchema = z.object({ customerKey: z.string(), sbcId: z.string(), siteId: z.string() });
export type SiteIndexRow = z.infer<typeof siteIndexSchema>;

export interface DialPlanRepositories {
  sbcs: TableRepository<SbcRow>;
  sites: TableRepository<SiteRow>;
  sitesByCustomer: TableRepository<SiteIndexRow>;
  changes: WorkTable<ChangeRow>;
  templates: TableRepository<TemplateVersion>;
}

export function createDialPlanRepositories(storage: StorageClients, due: DueIndex): DialPlanRepositories {
  return {
    sbcs: new TableRepository(storage.table('sbcs'), {
      entityName: 'SBC',
      schema: sbcRowSchema,
      keys: (s) => ({ partitionKey: SBC_PARTITION, rowKey: tableKey(s.id) }),
    }),
    sites: new TableRepository(storage.table('sbcsites'), {
      entityName: 'site',
      schema: siteRowSchema,
      keys: (s) => ({ partitionKey: tableKey(s.sbcId), rowKey: tableKey(s.id) }),
      jsonFields: ['prefixes', 'carrier'],
    }),
    sitesByCustomer: new TableRepository(storage.table('sbcsitesbycustomer'), {
      entityName: 'site index entry',
      schema: siteIndexSchema,
      keys: (s) => ({
        partitionKey: tableKey(s.customerKey),
        rowKey: `${tableKey(s.sbcId)}|${tableKey(s.siteId)}`,
      }),
    }),
    changes: new WorkTable(
      storage.table('sbcchanges'),
      {
        entityName: 'SBC change',
        schema: changeRowSchema,
        keys: (c) => ({ partitionKey: tableKey(c.sbcId), rowKey: c.id }),
        jsonFields: ['prefixes', 'effects'],
      },
      due,
      'dialplan.change',
    ),
    templates: new TableRepository(storage.table('sbctemplates'), {
      entityName: 'template version',
      schema: templateVersionSchema,
      keys: (t) => ({ partitionKey: TEMPLATE_PARTITION, rowKey: templateRowKey(t.name, t.version) }),
    }),
  };
}
