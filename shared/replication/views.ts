import { z } from 'zod';
import { pagingQuerySchema } from '../http/paging';
import type { OrderedSubscription } from '../orders/model';
import {
  syncCountsSchema,
  syncResults,
  type ReplicatedGroup,
  type ReplicatedUser,
  type SyncState,
  type TenantSku,
  type UserVoice,
} from './model';

/**
 * What operators see of the replicated tenant (no hashes, no delta links), as zod schemas shared by
 * the handlers and the OpenAPI document, and the functions that build them from rows.
 */

/** Graph object ids are GUIDs; anything else cannot name a user or group we hold. */
export const objectIdSchema = z
  .guid('must be a Microsoft Entra object id (GUID)')
  .transform((s) => s.toLowerCase());

export const userQuerySchema = pagingQuerySchema.extend({
  search: z.string().trim().min(1).max(100).optional(),
});
export type UserQuery = z.infer<typeof userQuerySchema>;

const nullableString = z.string().nullable();
export const licenceViewSchema = z.object({
  skuId: z.string(),
  skuPartNumber: nullableString.describe('The licence name from subscribedSkus, null until it is known.'),
  disabledPlans: z.array(z.string()),
});
export const userViewSchema = z.object({
  id: z.string(),
  displayName: nullableString,
  userPrincipalName: z.string(),
  mail: nullableString,
  accountEnabled: z.boolean().nullable(),
  deleted: z.boolean().describe('Soft-deleted in the tenant (restorable for 30 days).'),
  licences: z.array(licenceViewSchema),
  usageLocation: nullableString,
  department: nullableString,
  businessPhones: z.array(z.string()),
  mobilePhone: nullableString,
  jobTitle: nullableString,
  onPremisesSyncEnabled: z.boolean().nullable(),
  updatedAt: z.string(),
});
export const userListItemSchema = userViewSchema.extend({
  primaryNumber: nullableString.describe(
    'The Teams primary number (Line URI), null when none or not read yet.',
  ),
});
export const voiceViewSchema = z.object({
  primaryNumber: nullableString,
  telephoneNumbers: z.array(z.object({ telephoneNumber: z.string(), assignmentCategory: z.string() })),
  voiceRoutingPolicy: nullableString.describe(
    'The effective online voice routing policy; null = the global one.',
  ),
  dialPlan: nullableString.describe('The effective tenant dial plan; null = the global one.'),
  enterpriseVoiceEnabled: z.boolean(),
  policies: z.record(z.string(), z.string()).describe('Every effective Teams policy, by type.'),
  accountType: nullableString,
  modifiedDateTime: nullableString,
});
export const userDetailViewSchema = userViewSchema.extend({
  groups: z.array(z.object({ id: z.string(), displayName: nullableString })),
  voice: voiceViewSchema.nullable().describe('Teams voice configuration, refreshed on its own schedule.'),
});
export const groupViewSchema = z.object({
  id: z.string(),
  displayName: nullableString,
  description: nullableString,
  mail: nullableString,
  securityEnabled: z.boolean().nullable(),
  groupTypes: z.array(z.string()),
  updatedAt: z.string(),
});
export const groupDetailViewSchema = groupViewSchema.extend({
  members: z.array(z.string()).describe('Member object ids, one page of them.'),
  continuationToken: z.string().nullable(),
});
export const licenceComparisonSchema = z.object({
  sku: z.string(),
  ordered: z.number(),
  enabled: z.number(),
  assigned: z.number(),
  matches: z.boolean().describe('What the ordering system ordered equals what the tenant has.'),
});
export const syncStateViewSchema = z.object({
  customerId: z.string(),
  gate: z.string().describe('"active", or why the timer skips this customer (suspended, needs_consent …).'),
  synced: z.boolean(),
  lastRunAt: nullableString,
  lastSucceededAt: nullableString,
  durationMs: z.number().nullable(),
  result: z.enum(syncResults).nullable(),
  reason: nullableString,
  lastError: nullableString,
  counts: syncCountsSchema.nullable(),
  totals: z.object({ users: z.number(), groups: z.number(), memberships: z.number() }).nullable(),
  fullSyncs: z.number(),
  licences: z.array(licenceComparisonSchema),
});

export function viewUser(u: ReplicatedUser, skus: Map<string, TenantSku>): z.infer<typeof userViewSchema> {
  return {
    id: u.id,
    displayName: u.displayName,
    userPrincipalName: u.userPrincipalName,
    mail: u.mail,
    accountEnabled: u.accountEnabled,
    deleted: u.deleted,
    licences: u.assignedLicenses.map((l) => ({
      skuId: l.skuId,
      skuPartNumber: skus.get(l.skuId)?.skuPartNumber ?? null,
      disabledPlans: l.disabledPlans,
    })),
    usageLocation: u.usageLocation,
    department: u.department,
    businessPhones: u.businessPhones,
    mobilePhone: u.mobilePhone,
    jobTitle: u.jobTitle,
    onPremisesSyncEnabled: u.onPremisesSyncEnabled,
    updatedAt: u.updatedAt,
  };
}
export type UserView = ReturnType<typeof viewUser>;

/** The Users page's voice columns: Line URI (primary number), voice routing policy, dial plan, Enterprise Voice. */
export function viewVoice(v: UserVoice | undefined): z.infer<typeof voiceViewSchema> | null {
  if (!v) return null;
  return {
    primaryNumber: v.primaryNumber,
    telephoneNumbers: v.telephoneNumbers,
    voiceRoutingPolicy: v.voiceRoutingPolicy,
    dialPlan: v.dialPlan,
    enterpriseVoiceEnabled: v.enterpriseVoiceEnabled,
    policies: v.policies,
    accountType: v.accountType,
    modifiedDateTime: v.modifiedDateTime,
  };
}
export type VoiceView = ReturnType<typeof viewVoice>;

export function viewGroup(g: ReplicatedGroup): z.infer<typeof groupViewSchema> {
  return {
    id: g.id,
    displayName: g.displayName,
    description: g.description,
    mail: g.mail,
    securityEnabled: g.securityEnabled,
    groupTypes: g.groupTypes,
    updatedAt: g.updatedAt,
  };
}

/** Licence counts in the tenant beside what the ordering system ordered (by SKU part number or id). */
export function licenceComparison(
  skus: TenantSku[],
  ordered: OrderedSubscription[],
): z.infer<typeof licenceComparisonSchema>[] {
  const names = new Set([...skus.map((s) => s.skuPartNumber), ...ordered.map((o) => o.sku)]);
  return [...names].sort().map((name) => {
    const sku = skus.find((s) => s.skuPartNumber === name || s.skuId === name);
    const order = ordered.find((o) => o.sku === name || o.sku === sku?.skuId);
    return {
      sku: name,
      ordered: order?.quantity ?? 0,
      enabled: sku?.enabled ?? 0,
      assigned: sku?.consumed ?? 0,
      matches: (order?.quantity ?? 0) === (sku?.enabled ?? 0),
    };
  });
}

export function viewSyncState(s: SyncState | undefined) {
  return {
    synced: s?.lastSucceededAt !== undefined,
    lastRunAt: s?.lastRunAt ?? null,
    lastSucceededAt: s?.lastSucceededAt ?? null,
    durationMs: s?.durationMs ?? null,
    result: s?.result ?? null,
    reason: s?.reason ?? null,
    lastError: s?.lastError ?? null,
    counts: s?.counts ?? null,
    totals: s?.totals ?? null,
    fullSyncs: s?.fullSyncs ?? 0,
    voiceRefreshedAt: s?.voiceRefreshedAt ?? null,
    rolesCheckedAt: s?.rolesCheckedAt ?? null,
    voiceError: s?.voiceError ?? null,
    rolesError: s?.rolesError ?? null,
  };
}
