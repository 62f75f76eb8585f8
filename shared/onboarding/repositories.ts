import type { StorageClients } from '../storage/clients';
import { TableRepository } from '../storage/table-repository';
import {
  customerSchema,
  invitationSchema,
  tenantOwnerSchema,
  type Customer,
  type Invitation,
  type TenantOwner,
} from './model';

/** One partition per kind: customers number in the hundreds, so point reads and one-partition scans suffice. */
export const CUSTOMER_PARTITION = 'customer';
export const INVITATION_PARTITION = 'invitation';
export const TENANT_PARTITION = 'tenant';

export interface OnboardingRepositories {
  customers: TableRepository<Customer>;
  invitations: TableRepository<Invitation>;
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
      schema: invitationSchema,
      keys: (i) => ({ partitionKey: INVITATION_PARTITION, rowKey: i.tokenHash }),
    }),
    tenants: new TableRepository(storage.table('tenants'), {
      entityName: 'tenant',
      schema: tenantOwnerSchema,
      keys: (t) => ({ partitionKey: TENANT_PARTITION, rowKey: t.tenantId }),
    }),
  };
}
