import { createHash } from 'node:crypto';
import type { ReplicatedUser } from './model';

/** Replication's pure decisions (unit-tested): what a row is, when it changed, what a change means. */

/** The user properties an operator needs; baked into the delta token by the first request. */
export const USER_SELECT = [
  'displayName',
  'userPrincipalName',
  'mail',
  'accountEnabled',
  'assignedLicenses',
  'usageLocation',
  'department',
  'businessPhones',
  'mobilePhone',
  'jobTitle',
  'onPremisesSyncEnabled',
] as const;
export const GROUP_SELECT = [
  'displayName',
  'description',
  'mail',
  'securityEnabled',
  'groupTypes',
  'members',
] as const;

export const contentHash = (value: unknown): string =>
  createHash('sha256').update(JSON.stringify(value)).digest('base64url').slice(0, 22);

const str = (v: unknown): string | null => (typeof v === 'string' ? v : null);
const bool = (v: unknown): boolean | null => (typeof v === 'boolean' ? v : null);
const strings = (v: unknown): string[] => (Array.isArray(v) ? v.filter((x) => typeof x === 'string') : []);

/** A user row from a Graph user (without the bookkeeping fields). */
export function userContent(g: Record<string, unknown>) {
  const licences = Array.isArray(g.assignedLicenses) ? g.assignedLicenses : [];
  const content = {
    id: String(g.id),
    displayName: str(g.displayName),
    userPrincipalName: str(g.userPrincipalName) ?? '',
    mail: str(g.mail),
    accountEnabled: bool(g.accountEnabled),
    assignedLicenses: licences
      .map((l: { skuId?: unknown; disabledPlans?: unknown }) => ({
        skuId: String(l.skuId ?? ''),
        disabledPlans: strings(l.disabledPlans).sort(),
      }))
      .sort((a, b) => a.skuId.localeCompare(b.skuId)),
    usageLocation: str(g.usageLocation),
    department: str(g.department),
    businessPhones: strings(g.businessPhones),
    mobilePhone: str(g.mobilePhone),
    jobTitle: str(g.jobTitle),
    onPremisesSyncEnabled: bool(g.onPremisesSyncEnabled),
    deleted: false,
  };
  return {
    ...content,
    search: `${content.displayName ?? ''}\n${content.userPrincipalName}`.toLowerCase(),
    signInName: content.userPrincipalName.toLowerCase(),
    hash: contentHash(content),
  };
}

export function groupContent(g: Record<string, unknown>) {
  const content = {
    id: String(g.id),
    displayName: str(g.displayName),
    description: str(g.description),
    mail: str(g.mail),
    securityEnabled: bool(g.securityEnabled),
    groupTypes: strings(g.groupTypes),
  };
  return { ...content, hash: contentHash(content) };
}

/** A continuation of a group spread over pages carries only its id and more members. */
export const isMembersOnly = (g: Record<string, unknown>): boolean =>
  !('displayName' in g) && !('description' in g);

export type RemovedReason = 'changed' | 'deleted';
export function removedReason(g: Record<string, unknown>): RemovedReason | undefined {
  const r = g['@removed'];
  if (r && typeof r === 'object')
    return (r as { reason?: string }).reason === 'deleted' ? 'deleted' : 'changed';
  return undefined;
}

/** What a change made in the Microsoft portal means for the provider (the seeds' sync note). */
export type Reconciliation =
  | { kind: 'user.removed'; userId: string; userPrincipalName: string; permanent: boolean }
  | { kind: 'user.restored'; userId: string; userPrincipalName: string }
  | { kind: 'user.signInNameChanged'; userId: string; from: string; to: string }
  | { kind: 'user.licencesRemoved'; userId: string; userPrincipalName: string; skuIds: string[] }
  | { kind: 'user.licencesSwitched'; userId: string; userPrincipalName: string; from: string[]; to: string[] }
  | {
      kind: 'user.adminRoleRevoked';
      userId: string;
      userPrincipalName: string;
      roleTemplateId: string;
      /** The role's name (from its template id). */
      role: string;
      /** When the assignment was first seen: a later grant revoked again is a new event. */
      since: string;
    };

type UserFacts = Pick<ReplicatedUser, 'id' | 'userPrincipalName' | 'assignedLicenses' | 'deleted'>;

/** Compares what we had with what Graph says now: one entry per chore the sync note lists. */
export function reconcileUser(
  before: UserFacts | undefined,
  after: UserFacts | { removed: RemovedReason; id: string },
): Reconciliation[] {
  if (!before) return [];
  const out: Reconciliation[] = [];
  if ('removed' in after) {
    if (!before.deleted || after.removed === 'deleted') {
      out.push({
        kind: 'user.removed',
        userId: before.id,
        userPrincipalName: before.userPrincipalName,
        permanent: after.removed === 'deleted',
      });
    }
    return out;
  }
  if (before.deleted && !after.deleted) {
    out.push({ kind: 'user.restored', userId: after.id, userPrincipalName: after.userPrincipalName });
  }
  if (before.userPrincipalName.toLowerCase() !== after.userPrincipalName.toLowerCase()) {
    out.push({
      kind: 'user.signInNameChanged',
      userId: after.id,
      from: before.userPrincipalName,
      to: after.userPrincipalName,
    });
  }
  const was = before.assignedLicenses.map((l) => l.skuId).sort();
  const now = after.assignedLicenses.map((l) => l.skuId).sort();
  const gone = was.filter((s) => !now.includes(s));
  const added = now.filter((s) => !was.includes(s));
  if (gone.length > 0 && added.length > 0) {
    out.push({
      kind: 'user.licencesSwitched',
      userId: after.id,
      userPrincipalName: after.userPrincipalName,
      from: gone,
      to: added,
    });
  } else if (gone.length > 0) {
    out.push({
      kind: 'user.licencesRemoved',
      userId: after.id,
      userPrincipalName: after.userPrincipalName,
      skuIds: gone,
    });
  }
  return out;
}

/** Admin roles a user held before and not now (directory role template ids). */
export function revokedRoles(before: readonly string[], after: readonly string[]): string[] {
  return before.filter((r) => !after.includes(r));
}

/** A revoked role assignment means a chore only for a user still in the tenant (a removed user is its own chore). */
/**
 * Names one change found against one version of the cached row (or role assignment): a page repeated
 * after a crash finds the same key (one callback, one audit entry); the same change found again months
 * later is found against a newer version, so it is a new event.
 */
export function reconciliationKey(customerId: string, r: Reconciliation, version: string): string {
  return `replication|${customerId}|${version}|${contentHash(r)}`;
}

export function reconcileRoleRevoked(
  held: { roleTemplateId: string; memberId: string; since: string },
  user: Pick<ReplicatedUser, 'userPrincipalName' | 'deleted'> | undefined,
  name: (templateId: string) => string,
): Reconciliation[] {
  if (!user || user.deleted) return [];
  return [
    {
      kind: 'user.adminRoleRevoked',
      userId: held.memberId,
      userPrincipalName: user.userPrincipalName,
      roleTemplateId: held.roleTemplateId,
      role: name(held.roleTemplateId),
      since: held.since,
    },
  ];
}

/** The effective policy types the Users page shows (Teams PowerShell's names). */
export const VOICE_ROUTING_POLICY = 'OnlineVoiceRoutingPolicy';
export const DIAL_PLAN = 'TenantDialPlan';

/**
 * A voice row from a Graph teamsUserConfiguration (without the bookkeeping fields). Numbers keep
 * Microsoft's order; the primary one is the Line URI the Users page shows.
 */
export function voiceContent(g: Record<string, unknown>) {
  const numbers = (Array.isArray(g.telephoneNumbers) ? g.telephoneNumbers : [])
    .map((n: { telephoneNumber?: unknown; assignmentCategory?: unknown }) => ({
      telephoneNumber: str(n.telephoneNumber) ?? '',
      assignmentCategory: str(n.assignmentCategory) ?? 'unknown',
    }))
    .filter((n) => n.telephoneNumber !== '');
  const policies: Record<string, string> = {};
  for (const a of Array.isArray(g.effectivePolicyAssignments) ? g.effectivePolicyAssignments : []) {
    const { policyType, policyAssignment } = a as { policyType?: unknown; policyAssignment?: unknown };
    const name = str((policyAssignment as { displayName?: unknown } | undefined)?.displayName);
    if (typeof policyType === 'string' && name !== null) policies[policyType] = name;
  }
  const sorted = Object.fromEntries(Object.entries(policies).sort(([a], [b]) => a.localeCompare(b)));
  const content = {
    userId: String(g.id).toLowerCase(),
    userPrincipalName: str(g.userPrincipalName),
    telephoneNumbers: numbers,
    primaryNumber: numbers.find((n) => n.assignmentCategory === 'primary')?.telephoneNumber ?? null,
    voiceRoutingPolicy: sorted[VOICE_ROUTING_POLICY] ?? null,
    dialPlan: sorted[DIAL_PLAN] ?? null,
    policies: sorted,
    enterpriseVoiceEnabled: g.isEnterpriseVoiceEnabled === true,
    accountType: str(g.accountType),
    modifiedDateTime: str(g.modifiedDateTime),
  };
  return { ...content, hash: contentHash(content) };
}

/** The single read's body: the documented sample wraps the entity in `value`; a bare entity is accepted too. */
export function singleEntity(body: Record<string, unknown>): Record<string, unknown> {
  const v = body.value;
  return v && typeof v === 'object' && !Array.isArray(v) ? (v as Record<string, unknown>) : body;
}

/** Whether a slower refresh (voice, roles) is due: never done, or `everyMinutes` have passed. */
export function refreshDue(lastIso: string | undefined, at: Date, everyMinutes: number): boolean {
  if (!lastIso) return true;
  const last = Date.parse(lastIso);
  return !Number.isFinite(last) || at.getTime() - last >= everyMinutes * 60_000;
}

/**
 * Retry-After as Microsoft sends it: seconds, fractions allowed (`2.128`), or an HTTP date. Returns
 * milliseconds; a missing or unreadable header gets `fallbackMs`.
 */
export function retryAfterMs(header: string | null | undefined, now: number, fallbackMs = 10_000): number {
  if (!header) return fallbackMs;
  const seconds = Number(header.trim());
  if (Number.isFinite(seconds) && seconds >= 0) return Math.ceil(seconds * 1000);
  const at = Date.parse(header);
  return Number.isFinite(at) ? Math.max(0, at - now) : fallbackMs;
}

/** Graph's answers to an expired or reset delta token: the sync must start over. */
export function isResyncAnswer(status: number, code: string | undefined): boolean {
  if (status === 410) return true;
  if (status !== 400 && status !== 404) return false;
  const c = (code ?? '').toLowerCase();
  return c === 'syncstatenotfound' || c === 'resyncrequired' || c === 'syncstateinvalid';
}

/** Identity resource units per 10 s for a tenant of this many users (Microsoft's throttling limits). */
export function tenantBudget(users: number): number {
  if (users < 50) return 3_500;
  if (users <= 500) return 5_000;
  return 8_000;
}

/** Resource units of a request: users 2, group members 3, others 1; $select saves 1 (at least 1). */
export function requestCost(path: string, selected: boolean): number {
  const base = /\/users(\/|\?|$)/.test(path) ? 2 : /\/members/.test(path) ? 3 : 1;
  return Math.max(1, base - (selected ? 1 : 0));
}

/**
 * Ids packed into strings of at most `maxChars` (a Table Storage string property holds 32 K
 * characters), newline-separated.
 */
export function packIds(ids: readonly string[], maxChars = 30_000): string[] {
  const out: string[] = [];
  let current = '';
  for (const id of ids) {
    if (current && current.length + 1 + id.length > maxChars) {
      out.push(current);
      current = '';
    }
    current = current ? `${current}\n${id}` : id;
  }
  if (current) out.push(current);
  return out;
}

/** Splits writes into transactions of at most `size` (Table Storage allows 100 per partition). */
export function chunks<T>(items: readonly T[], size = 100): T[][] {
  const out: T[][] = [];
  for (let i = 0; i < items.length; i += size) out.push(items.slice(i, i + size));
  return out;
}

/** Whether the every-minute timer fans out now (REPLICATION_SYNC_MINUTES, default 5). */
export const syncDue = (at: Date, everyMinutes: number): boolean =>
  Math.floor(at.getTime() / 60_000) % Math.max(1, everyMinutes) === 0;
