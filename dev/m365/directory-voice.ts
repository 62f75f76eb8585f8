import type { DirectoryTenant, SimState } from './state';
import { stableGuid } from './state';

/**
 * Each user's Teams voice configuration, as the Teams admin center would set it: phone numbers
 * (with their assignment category), the voice routing policy and dial plan assigned to the user,
 * and Enterprise Voice. Graph reads it at /admin/teams/userConfigurations (graph/teams.ts); it has
 * no delta, so every change only moves the user's `modifiedDateTime`.
 */

export type AssignmentCategory = 'primary' | 'private' | 'alternate';

export interface UserVoice {
  telephoneNumbers: { telephoneNumber: string; assignmentCategory: AssignmentCategory }[];
  /** Policy type (`OnlineVoiceRoutingPolicy`, `TenantDialPlan`, `TeamsCallingPolicy` …) → the policy's name. */
  policies: Record<string, string>;
  isEnterpriseVoiceEnabled: boolean;
  modifiedDateTime: string;
}

export interface VoicePatch {
  /** Numbers as `+14255551000` (the first is primary) or with their category. */
  telephoneNumbers?: (string | { telephoneNumber: string; assignmentCategory: AssignmentCategory })[];
  /** The policy's name, or null to fall back to the tenant's global one (no assignment shown). */
  voiceRoutingPolicy?: string | null;
  dialPlan?: string | null;
  /** Any other policy type by name, e.g. `{ TeamsCallingPolicy: 'AllowCalling' }`. */
  policies?: Record<string, string | null>;
  enterpriseVoice?: boolean;
}

export interface VoiceControls {
  /** Sets a user's Teams voice configuration (numbers, voice routing policy, dial plan, Enterprise Voice). */
  setVoice(tenantId: string, userId: string, patch: VoicePatch): void;
  /** userConfigurations page size (Graph's own default is not documented; $top asks for fewer). */
  setTeamsPaging(options: { pageSize: number }): void;
}

type TenantWithVoice = DirectoryTenant & { voice?: Record<string, UserVoice> };

/** The tenant's voice data (created on first use, persisted with the tenant). */
export function voiceOf(tenant: DirectoryTenant): Record<string, UserVoice> {
  const t = tenant as TenantWithVoice;
  t.voice ??= {};
  return t.voice;
}

const pagingByState = new WeakMap<SimState, { pageSize: number }>();
export function teamsPaging(state: SimState): { pageSize: number } {
  let p = pagingByState.get(state);
  if (!p) {
    p = { pageSize: 100 };
    pagingByState.set(state, p);
  }
  return p;
}

/** A policy's id: stable per tenant, type and name (the samples show GUIDs and opaque strings). */
export const policyId = (tenantId: string, policyType: string, name: string): string =>
  stableGuid('teamsPolicy', tenantId, policyType, name);

export function createVoiceControls(state: SimState): VoiceControls {
  return {
    setVoice(tenantId, userId, patch) {
      const t = state.findTenant(tenantId);
      if (!t) throw new Error(`no tenant ${tenantId}`);
      const user = t.users.find((u) => u.id === userId);
      if (!user) throw new Error(`no user ${userId} in tenant ${t.id}`);
      const all = voiceOf(t);
      const v: UserVoice = all[userId] ?? {
        telephoneNumbers: [],
        policies: {},
        isEnterpriseVoiceEnabled: false,
        modifiedDateTime: user.createdDateTime,
      };
      if (patch.telephoneNumbers) {
        v.telephoneNumbers = patch.telephoneNumbers.map((n, i) =>
          typeof n === 'string'
            ? { telephoneNumber: n, assignmentCategory: i === 0 ? 'primary' : 'alternate' }
            : n,
        );
      }
      const policies: Record<string, string | null> = { ...patch.policies };
      if (patch.voiceRoutingPolicy !== undefined)
        policies.OnlineVoiceRoutingPolicy = patch.voiceRoutingPolicy;
      if (patch.dialPlan !== undefined) policies.TenantDialPlan = patch.dialPlan;
      for (const [type, name] of Object.entries(policies)) {
        if (name === null) delete v.policies[type];
        else v.policies[type] = name;
      }
      if (patch.enterpriseVoice !== undefined) v.isEnterpriseVoiceEnabled = patch.enterpriseVoice;
      v.modifiedDateTime = new Date(state.now()).toISOString();
      all[userId] = v;
    },
    setTeamsPaging({ pageSize }) {
      teamsPaging(state).pageSize = Math.max(1, pageSize);
    },
  };
}
