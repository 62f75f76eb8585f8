import type { StorageClients } from '../storage/clients';
import { TableRepository } from '../storage/table-repository';
import {
  customerSchema,
  invitationSchema,
  tenantOwnerSchema,
  type Customer,
  type TenantOwner,
} from './model';
import { z } from 'zod';

/** One partition per kind: customers number in the hundreds, so point reads and one-partition scans suffice. */
export const CUSTOMER_PARTITION = 'customer';
export const INVITATION_PARTITION = 'invitation';
export const TENANT_PARTITION = 'tenant';

/**
 * The invitations table holds each invitation several times in its one partition, always written
 * together in one transaction (see shared/onboarding/invitations.ts): under `id:<id>` (the record),
 * `tok:<hash of the link's secret>` (the link resolves with one point read), and `cus:<customer>:…`
 * and `all:…` (newest first, so both lists are single-partition key ranges). `key` is the row key.
 */
export const invitationRowSchema = invitationSchema.extend({ key: z.string() });
export type InvitationRow = z.infer<typeof invitationRowSchema>;

export interface OnboardingRepositories {
  customers: TableRepository<Customer>;
  invitations: TableRepository<InvitationRow>;
  /** tenant id → customer: makes "one tenant, one customer" a unique key, not a check-then-write race. */
  tenants: TableRepository<TenantOwner>;
}

export function createOnboardingRepositories(storage: StorageClients): OnboardingRepositories {
  return {
    customers: new TableRepository(storage.table('customers'), {
      entityName: 'customer',
      schema: customerSchema,
      keys: (c) => ({ partitionKey: CUSTOMER_PARTITION, rowKey: c.id.toLowerCase() }),
    }),
    invitations: new TableRepository(storage.table('invitations'), {
      entityName: 'invitation',
      schema: invitationRowSchema,
      keys: (i) => ({ partitionKey: INVITATION_PARTITION, rowKey: i.key }),
    }),
    tenants: new TableRepository(storage.table('tenants'), {
      entityName: 'tenant',
      schema: tenantOwnerSchema,
      keys: (t) => ({ partitionKey: TENANT_PARTITION, rowKey: t.tenantId }),
    }),
  };
}
