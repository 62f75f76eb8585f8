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
  /** Lower-cased name and sign-in name, for search by name prefix. */
  search: z.string(),
  /** Lower-cased sign-in name, for search by sign-in name prefix (Table Storage compares case-sensitively). */
  signInName: z.string().default(''),
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

/** A user's Teams voice configuration (userConfigurations), as the Users page shows it. */
export const telephoneNumberSchema = z.object({
  telephoneNumber: z.string(),
  assignmentCategory: z.string(),
});
export const userVoiceSchema = z.object({
  customerId: z.string(),
  userId: z.string(),
  userPrincipalName: z.string().nullable().default(null),
  telephoneNumbers: z.array(telephoneNumberSchema),
  /** The primary number (Line URI), when the user has one. */
  primaryNumber: z.string().nullable().default(null),
  /** Effective OnlineVoiceRoutingPolicy / TenantDialPlan names; null = none assigned (the global one). */
  voiceRoutingPolicy: z.string().nullable().default(null),
  dialPlan: z.string().nullable().default(null),
  /** Every effective policy by type → name (calling, meeting …). */
  policies: z.record(z.string(), z.string()),
  enterpriseVoiceEnabled: z.boolean(),
  accountType: z.string().nullable().default(null),
  /** Microsoft's `modifiedDateTime` of the configuration. */
  modifiedDateTime: z.string().nullable().default(null),
  hash: z.string(),
  updatedAt: z.string(),
});
export type UserVoice = z.infer<typeof userVoiceSchema>;

/** One user holding one directory (admin) role, as directoryRoles delta last said. */
export const roleMembershipSchema = z.object({
  customerId: z.string(),
  roleTemplateId: z.string(),
  roleName: z.string(),
  memberId: z.string(),
  /** When we first saw the assignment (distinguishes a later revocation from an earlier one). */
  since: z.string(),
});
export type RoleMembership = z.infer<typeof roleMembershipSchema>;

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
  /** Saved only after every role membership it covers is committed. */
  rolesDeltaLink: z.string().optional(),
  rolesLinkSavedAt: z.string().optional(),
  rolesCheckedAt: z.string().optional(),
  /** When the whole tenant's Teams voice configuration was last read (REPLICATION_VOICE_MINUTES). */
  voiceRefreshedAt: z.string().optional(),
  /** Why the last voice or roles read gave nothing, e.g. a grant without the permission. */
  voiceError: z.string().optional(),
  rolesError: z.string().optional(),
  cursor: syncCursorSchema.optional(),
  /** How many users, groups and memberships the cache holds (after the last run). */
  totals: z.object({ users: z.number(), groups: z.number(), memberships: z.number() }).optional(),
});
export type SyncState = z.infer<typeof syncStateSchema>;
