import type { StorageClients } from '../storage/clients';
import { TableRepository } from '../storage/table-repository';
import {
  membershipSchema,
  replicatedGroupSchema,
  replicatedUserSchema,
  roleMembershipSchema,
  seenPartSchema,
  syncStateSchema,
  tenantSkuSchema,
  userVoiceSchema,
  type Membership,
  type RoleMembership,
  type UserVoice,
  type ReplicatedGroup,
  type ReplicatedUser,
  type SeenPart,
  type SyncState,
  type TenantSku,
} from './model';

/**
 * Replication's own tables, each partitioned by customer (lower case), so a tenant's writes go in
 * transactions of up to 100 and a tenant's reads are single-partition: `repusers` (RowKey user id),
 * `repgroups` (group id), `repmembers` (`<group id>|<member id>`), `repskus` (sku id), `repvoice`
 * (user id), `reproles` (`<role template id>|<member id>`), `repsync` (one partition, RowKey customer),
 * `repseen` (`<kind>|<round>|<part>`: what an unfinished full round has listed).
 */
export const SYNC_PARTITION = 'sync';
export const partitionOf = (customerId: string): string => customerId.toLowerCase();
export const seenKey = (kind: string, round: string, part: number): string =>
  `${kind}|${round}|${String(part).padStart(6, '0')}`;
export const membershipKey = (groupId: string, memberId: string): string => `${groupId}|${memberId}`;
export const roleKey = (roleTemplateId: string, memberId: string): string => `${roleTemplateId}|${memberId}`;

export interface ReplicationRepositories {
  users: TableRepository<ReplicatedUser>;
  groups: TableRepository<ReplicatedGroup>;
  members: TableRepository<Membership>;
  skus: TableRepository<TenantSku>;
  voice: TableRepository<UserVoice>;
  roles: TableRepository<RoleMembership>;
  sync: TableRepository<SyncState>;
  seen: TableRepository<SeenPart>;
}

export function createReplicationRepositories(storage: StorageClients): ReplicationRepositories {
  return {
    users: new TableRepository(storage.table('repusers'), {
      entityName: 'replicated user',
      schema: replicatedUserSchema,
      keys: (u) => ({ partitionKey: partitionOf(u.customerId), rowKey: u.id }),
      jsonFields: ['assignedLicenses', 'businessPhones'],
    }),
    groups: new TableRepository(storage.table('repgroups'), {
      entityName: 'replicated group',
      schema: replicatedGroupSchema,
      keys: (g) => ({ partitionKey: partitionOf(g.customerId), rowKey: g.id }),
      jsonFields: ['groupTypes'],
    }),
    members: new TableRepository(storage.table('repmembers'), {
      entityName: 'group membership',
      schema: membershipSchema,
      keys: (m) => ({
        partitionKey: partitionOf(m.customerId),
        rowKey: membershipKey(m.groupId, m.memberId),
      }),
    }),
    skus: new TableRepository(storage.table('repskus'), {
      entityName: 'tenant licence',
      schema: tenantSkuSchema,
      keys: (s) => ({ partitionKey: partitionOf(s.customerId), rowKey: s.skuId }),
    }),
    voice: new TableRepository(storage.table('repvoice'), {
      entityName: 'Teams voice configuration',
      schema: userVoiceSchema,
      keys: (v) => ({ partitionKey: partitionOf(v.customerId), rowKey: v.userId }),
      jsonFields: ['telephoneNumbers', 'policies'],
    }),
    roles: new TableRepository(storage.table('reproles'), {
      entityName: 'directory role membership',
      schema: roleMembershipSchema,
      keys: (m) => ({
        partitionKey: partitionOf(m.customerId),
        rowKey: roleKey(m.roleTemplateId, m.memberId),
      }),
    }),
    sync: new TableRepository(storage.table('repsync'), {
      entityName: 'sync state',
      schema: syncStateSchema,
      keys: (s) => ({ partitionKey: SYNC_PARTITION, rowKey: partitionOf(s.customerId) }),
      jsonFields: ['counts', 'totals', 'cursor'],
    }),
    seen: new TableRepository(storage.table('repseen'), {
      entityName: 'full sync progress',
      schema: seenPartSchema,
      keys: (s) => ({ partitionKey: partitionOf(s.customerId), rowKey: seenKey(s.kind, s.round, s.part) }),
    }),
  };
}
