import { z } from 'zod';

// Table Storage does not keep nulls: a null written comes back missing, hence `.default(null)`.

/**
 * Replication's rows: each customer tenant's users, groups, memberships and licences as Graph last
 * told us, and the tenant's sync state. `hash` is the content hash a sync compares before writing,
 * so a row is written only when something in it changed.
 */

export const assignedLicenseSchema = z.object({ skuId: z.string(), disabledPlans: z.array(z.string()) });

export const replicatedUserSchema = z.object({
  customerId: z.string(),
  id: z.string(),
  displayName: z.string().nullable().default(null),
  userPrincipalName: z.string(),
  /** Lower-cased name and sign-in name, for search. */
  search: z.string(),
  mail: z.string().nullable().default(null),
  accountEnabled: z.boolean().nullable().default(null),
  assignedLicenses: z.array(assignedLicenseSchema),
  usageLocation: z.string().nullable().default(null),
  department: z.string().nullable().default(null),
  businessPhones: z.array(z.string()),
  mobilePhone: z.string().nullable().default(null),
  jobTitle: z.string().nullable().default(null),
  onPremisesSyncEnabled: z.boolean().nullable().default(null),
  /** Soft-deleted in the tenant (restorable for 30 days): kept, marked. */
  deleted: z.boolean(),
  hash: z.string(),
  updatedAt: z.string(),
});
export type ReplicatedUser = z.infer<typeof replicatedUserSchema>;

export const replicatedGroupSchema = z.object({
  customerId: z.string(),
  id: z.string(),
  displayName: z.string().nullable().default(null),
  description: z.string().nullable().default(null),
  mail: z.string().nullable().default(null),
  securityEnabled: z.boolean().nullable().default(null),
  groupTypes: z.array(z.string()),
  hash: z.string(),
  updatedAt: z.string(),
});
export type ReplicatedGroup = z.infer<typeof replicatedGroupSchema>;

export const membershipSchema = z.object({
  customerId: z.string(),
  groupId: z.string(),
  memberId: z.string(),
});
export type Membership = z.infer<typeof membershipSchema>;

export const tenantSkuSchema = z.object({
  customerId: z.string(),
  skuId: z.string(),
  skuPartNumber: z.string(),
  enabled: z.number(),
  consumed: z.number(),
  hash: z.string(),
});
export type TenantSku = z.infer<typeof tenantSkuSchema>;

export const syncResults = ['succeeded', 'failed', 'throttled', 'skipped'] as const;

export const syncCountsSchema = z.object({
  graphRequests: z.number(),
  pages: z.number(),
  usersWritten: z.number(),
  usersDeleted: z.number(),
  groupsWritten: z.number(),
  groupsDeleted: z.number(),
  membershipsWritten: z.number(),
  membershipsDeleted: z.number(),
  tableTransactions: z.number(),
  reconciliations: z.number(),
});
export type SyncCounts = z.infer<typeof syncCountsSchema>;

/**
 * A delta round a run left unfinished (its time budget ran out, or Graph asked for a long pause): the
 * next run carries on from `next`. Saved only after every row of the pages before it is committed.
 */
export const syncCursorSchema = z.object({
  kind: z.enum(['users', 'groups']),
  /** The `@odata.nextLink` following the last committed page. */
  next: z.string(),
  /** A full round (no delta link): the ids it has listed so far are kept in `repseen` under `round`. */
  full: z.boolean(),
  round: z.string(),
  /** How many `repseen` parts of the round are committed (later parts are leftovers of a killed run). */
  parts: z.number(),
  /** A groups round following a full users round (the two make one full sync, counted once). */
  afterFullUsers: z.boolean().optional(),
});
export type SyncCursor = z.infer<typeof syncCursorSchema>;

/**
 * Ids a full round has listed, packed: the final "delete what Graph no longer lists" of a round that
 * spans several runs needs them, and a run's memory does not outlive it. RowKey `<kind>|<round>|<part>`.
 */
export const seenPartSchema = z.object({
  customerId: z.string(),
  kind: z.enum(['users', 'groups']),
  round: z.string(),
  part: z.number(),
  /** Object ids (and `<group id>|<member id>` for memberships), newline-separated, at most ~30,000 chars. */
  ids: z.string(),
});
export type SeenPart = z.infer<typeof seenPartSchema>;

export const syncStateSchema = z.object({
  customerId: z.string(),
  tenantId: z.string().optional(),
  /** Saved only after every row the link covers is committed. */
  usersDeltaLink: z.string().optional(),
  groupsDeltaLink: z.string().optional(),
  linksSavedAt: z.string().optional(),
  lastRunAt: z.string().optional(),
  lastSucceededAt: z.string().optional(),
  durationMs: z.number().optional(),
  result: z.enum(syncResults).optional(),
  reason: z.string().optional(),
  lastError: z.string().optional(),
  counts: syncCountsSchema.optional(),
  fullSyncs: z.number().default(0),
  cursor: syncCursorSchema.optional(),
  /** How many users, groups and memberships the cache holds (after the last run). */
  totals: z.object({ users: z.number(), groups: z.number(), memberships: z.number() }).optional(),
});
export type SyncState = z.infer<typeof syncStateSchema>;
