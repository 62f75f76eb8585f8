import type { OrderedSubscription } from '../orders/model';
import type { ReplicatedGroup, ReplicatedUser, SyncState, TenantSku, UserVoice } from './model';

/** What operators see of the replicated tenant (no hashes, no delta links). */

export function viewUser(u: ReplicatedUser, skus: Map<string, TenantSku>) {
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
export function viewVoice(v: UserVoice | undefined) {
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

export function viewGroup(g: ReplicatedGroup) {
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
export function licenceComparison(skus: TenantSku[], ordered: OrderedSubscription[]) {
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
