import { createHash, randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import type { SimulatedGrantFailure } from './aad-errors';
import type { SigningKeyMaterial } from './keys';
import {
  adminConsentRoles,
  roleTemplateIds,
  type Seed,
  type SeedApp,
  type SeedManagedIdentity,
  type SeedTenant,
  type SeedUser,
} from './seed';

/**
 * Everything the simulator remembers: the directory (seeded, then changed by the test controls),
 * consent grants, authorization codes, refresh tokens and sign-ins in progress. Codes and sign-ins
 * live in memory only (they expire in minutes); the directory, grants, refresh tokens, the signing
 * key and the clock offset go to the data file so a restarted stack keeps its customers' tokens.
 */

export interface DirectoryUser extends Omit<SeedUser, 'roles'> {
  tenantId: string;
  /** Role template ids. */
  roleTemplateIds: string[];
  createdDateTime: string;
  /** Refresh tokens from sign-ins before this instant (ms) are revoked (signInSessionsValidFromDateTime). */
  tokensValidFrom: number;
}

export interface DirectoryRoleObject {
  id: string;
  roleTemplateId: string;
  displayName: string;
  description: string;
}

export interface DirectoryTenant extends Omit<SeedTenant, 'users'> {
  users: DirectoryUser[];
  directoryRoles: DirectoryRoleObject[];
}

/** The app's service principal in a tenant and what was consented to it. */
export interface AppGrant {
  servicePrincipalId: string;
  /** Delegated Graph permissions granted for all users (admin consent). */
  adminScopes: string[];
  /** Delegated permissions (Graph names and OIDC scopes) each user consented to for themselves. */
  userScopes: Record<string, string[]>;
  /** Application permissions granted (roles in app-only tokens). */
  applicationPermissions: string[];
}

export interface GrantedScopes {
  graph: string[];
  oidc: string[];
  /** Graph was named by URI when the grant was made (so the access token aud is the URI). */
  graphByUri: boolean;
}

export interface AuthCodeRecord {
  codeHash: string;
  clientId: string;
  redirectUri: string;
  tenantId: string;
  userId: string;
  scopes: GrantedScopes;
  nonce?: string;
  codeChallenge?: string;
  codeChallengeMethod?: 'S256' | 'plain';
  createdAt: number;
  redeemedAt?: number;
  authTime: number;
  sessionId: string;
}

export interface RefreshTokenRecord {
  tokenHash: string;
  clientId: string;
  tenantId: string;
  userId: string;
  scopes: GrantedScopes;
  /** When the user signed in (what revocation compares with). */
  authTime: number;
  issuedAt: number;
  lastUsedAt: number;
  sessionId: string;
  /** Set by a test control: the next use fails with this AADSTS code. */
  forcedError?: 70008 | 700082;
  /** The sign-in this token descends from: every rotation stays in the family, one generation newer. */
  familyId?: string;
  generation?: number;
}

/** One presentation of a refresh token (test instrument: proves which version of a family was used). */
export interface RefreshTokenUse {
  familyId: string;
  /** The generation presented, and the newest one the family had at that moment. */
  generation: number;
  newestGeneration: number;
  tenantId: string;
  userId: string;
  at: number;
  /** `issued`, or the AADSTS error it was answered with. */
  outcome: string;
}

/** A failure imposed by a test on token requests (refresh_token grant), for a tenant or for all. */
export interface TokenFault {
  failure: SimulatedGrantFailure | 'temporarily_unavailable' | 'throttled';
  tenantId?: string;
  retryAfter?: string;
  /** How many more requests fail (Infinity: until cleared). */
  remaining: number;
}

export interface PendingAuthorization {
  id: string;
  clientId: string;
  redirectUri: string;
  responseMode: 'query' | 'form_post' | 'fragment';
  scope: string;
  state?: string;
  nonce?: string;
  codeChallenge?: string;
  codeChallengeMethod?: 'S256' | 'plain';
  prompt?: string;
  tenantSegment: string;
  /** The tenant named in the path, when it is not organizations/common. */
  pathTenantId?: string;
  loginHint?: string;
  createdAt: number;
  /** Set once an account was picked. */
  userId?: string;
  tenantId?: string;
  authTime?: number;
}

interface PersistedState {
  version: 1;
  seedHash: string;
  signingKey: SigningKeyMaterial;
  clockOffsetMs: number;
  tenants: DirectoryTenant[];
  grants: Record<string, Record<string, AppGrant>>;
  refreshTokens: RefreshTokenRecord[];
}

export const authCodeLifetimeMs = 10 * 60 * 1000;
export const refreshTokenInactivityMs = 90 * 24 * 3600 * 1000;
const pendingLifetimeMs = 30 * 60 * 1000;

const roleDescriptions: Record<string, string> = {
  [roleTemplateIds['Global Administrator']]:
    'Can manage all aspects of Microsoft Entra ID and Microsoft services that use Microsoft Entra identities.',
  [roleTemplateIds['Teams Communications Administrator']]:
    'Can manage calling and meetings features within the Microsoft Teams service.',
};

/** A GUID derived from its inputs, for objects the seed does not name (roles, service principals). */
export function stableGuid(...parts: string[]): string {
  const hex = createHash('sha256').update(parts.join('|')).digest('hex');
  const variant = ((parseInt(hex.charAt(16), 16) & 0x3) | 0x8).toString(16);
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-4${hex.slice(13, 16)}-${variant}${hex.slice(17, 20)}-${hex.slice(20, 32)}`;
}

export function sha256(value: string): string {
  return createHash('sha256').update(value).digest('base64url');
}

export function randomToken(bytes = 32): string {
  return randomBytes(bytes).toString('base64url');
}

function buildTenant(seed: SeedTenant): DirectoryTenant {
  const names = Object.keys(roleTemplateIds) as (keyof typeof roleTemplateIds)[];
  const used = new Set<string>([roleTemplateIds['Global Administrator']]);
  const users: DirectoryUser[] = seed.users.map((u) => {
    const { roles, ...rest } = u;
    const ids = roles.map((r) => roleTemplateIds[r]);
    ids.forEach((id) => used.add(id));
    return {
      businessPhones: [],
      mobilePhone: null,
      officeLocation: null,
      preferredLanguage: null,
      jobTitle: null,
      usageLocation: null,
      department: null,
      ...rest,
      tenantId: seed.id,
      roleTemplateIds: ids,
      createdDateTime: seed.createdDateTime,
      tokensValidFrom: 0,
    };
  });
  // Like a real tenant, only roles that were ever assigned exist as directoryRole objects.
  const directoryRoles = [...used].map((templateId) => {
    const displayName = names.find((n) => roleTemplateIds[n] === templateId) ?? templateId;
    return {
      id: stableGuid('directoryRole', seed.id, templateId),
      roleTemplateId: templateId,
      displayName,
      description: roleDescriptions[templateId] ?? displayName,
    };
  });
  const { users: _users, ...tenant } = seed;
  return { ...structuredClone(tenant), users, directoryRoles };
}

export class SimState {
  tenants: DirectoryTenant[];
  readonly apps: SeedApp[];
  readonly managedIdentity: SeedManagedIdentity;
  grants: Record<string, Record<string, AppGrant>> = {};
  readonly codes = new Map<string, AuthCodeRecord>();
  refreshTokens = new Map<string, RefreshTokenRecord>();
  readonly pending = new Map<string, PendingAuthorization>();
  clockOffsetMs = 0;
  signingKey?: SigningKeyMaterial;
  /** Test controls: imposed token failures, the log of refresh token uses, injected latency. */
  tokenFaults: TokenFault[] = [];
  readonly refreshTokenUses: RefreshTokenUse[] = [];
  latency = { tokenMs: 0, graphMs: 0 };
  private readonly seedHash: string;

  constructor(
    private readonly seed: Seed,
    private readonly dataFile?: string,
    private readonly log: (line: string) => void = () => {},
  ) {
    this.seedHash = sha256(JSON.stringify(seed));
    this.apps = structuredClone(seed.apps);
    this.managedIdentity = structuredClone(seed.managedIdentity);
    this.tenants = seed.tenants.map(buildTenant);
    for (const app of this.apps) this.ensureGrant(app.homeTenantId, app.clientId);
    for (const c of seed.consents ?? []) {
      const grant = this.ensureGrant(c.tenantId, c.clientId);
      grant.adminScopes = union(grant.adminScopes, c.scopes);
      grant.applicationPermissions = union(grant.applicationPermissions, c.applicationPermissions ?? []);
    }
    this.load();
  }

  now(): number {
    return Date.now() + this.clockOffsetMs;
  }

  findTenant(segment: string): DirectoryTenant | undefined {
    const lower = segment.toLowerCase();
    return this.tenants.find(
      (t) => t.id === lower || t.verifiedDomains.some((d) => d.name.toLowerCase() === lower),
    );
  }

  tenant(id: string): DirectoryTenant | undefined {
    return this.tenants.find((t) => t.id === id);
  }

  findUser(tenantId: string, idOrUpn: string): DirectoryUser | undefined {
    const lower = idOrUpn.toLowerCase();
    return this.tenant(tenantId)?.users.find(
      (u) => u.id === lower || u.userPrincipalName.toLowerCase() === lower,
    );
  }

  /** A user by object id in any tenant (object ids are unique across the simulator). */
  userById(userId: string): DirectoryUser | undefined {
    for (const t of this.tenants) {
      const user = t.users.find((u) => u.id === userId);
      if (user) return user;
    }
    return undefined;
  }

  findApp(clientId: string): SeedApp | undefined {
    const lower = clientId.toLowerCase();
    return this.apps.find((a) => a.clientId.toLowerCase() === lower);
  }

  grant(tenantId: string, clientId: string): AppGrant | undefined {
    return this.grants[tenantId]?.[clientId];
  }

  ensureGrant(tenantId: string, clientId: string): AppGrant {
    const forTenant = (this.grants[tenantId] ??= {});
    return (forTenant[clientId] ??= {
      servicePrincipalId: stableGuid('servicePrincipal', tenantId, clientId),
      adminScopes: [],
      userScopes: {},
      applicationPermissions: [],
    });
  }

  /** Delegated scopes (Graph names and OIDC scopes) a user may use with an app without a consent prompt. */
  consentedScopes(tenantId: string, clientId: string, userId: string): string[] {
    const grant = this.grant(tenantId, clientId);
    if (!grant) return [];
    return union(grant.adminScopes, grant.userScopes[userId] ?? []);
  }

  canGrantTenantWideConsent(user: DirectoryUser): boolean {
    return user.userType === 'Member' && user.roleTemplateIds.some((r) => adminConsentRoles.includes(r));
  }

  /** The newest generation issued in a refresh token family. */
  newestGeneration(familyId: string): number {
    let newest = 0;
    for (const r of this.refreshTokens.values()) {
      if ((r.familyId ?? r.tokenHash) === familyId) newest = Math.max(newest, r.generation ?? 1);
    }
    return newest;
  }

  /** The first imposed failure that applies to a token request for this tenant, used up by one. */
  takeTokenFault(tenantId: string | undefined): TokenFault | undefined {
    const fault = this.tokenFaults.find((f) => f.remaining > 0 && (!f.tenantId || f.tenantId === tenantId));
    if (!fault) return undefined;
    fault.remaining -= 1;
    this.tokenFaults = this.tokenFaults.filter((f) => f.remaining > 0);
    return fault;
  }

  cleanup(): void {
    const now = this.now();
    for (const [key, code] of this.codes)
      if (now - code.createdAt > 2 * authCodeLifetimeMs) this.codes.delete(key);
    for (const [key, p] of this.pending) if (now - p.createdAt > pendingLifetimeMs) this.pending.delete(key);
  }

  isPendingExpired(p: PendingAuthorization): boolean {
    return this.now() - p.createdAt > pendingLifetimeMs;
  }

  private load(): void {
    if (!this.dataFile || !existsSync(this.dataFile)) return;
    let data: PersistedState;
    try {
      data = JSON.parse(readFileSync(this.dataFile, 'utf8')) as PersistedState;
    } catch (e) {
      this.log(`m365: ignoring unreadable data file ${this.dataFile}: ${String(e)}`);
      return;
    }
    if (data.version !== 1) return;
    this.signingKey = data.signingKey;
    if (data.seedHash !== this.seedHash) {
      // A changed seed means a different directory: keep the key, start the rest afresh.
      this.log(`m365: seed changed since ${this.dataFile} was written; directory, grants and tokens reset`);
      return;
    }
    this.clockOffsetMs = data.clockOffsetMs;
    this.tenants = data.tenants;
    this.grants = data.grants;
    this.refreshTokens = new Map(data.refreshTokens.map((r) => [r.tokenHash, r]));
  }

  /** Writes the durable part of the state (atomically: temp file then rename). */
  persist(): void {
    if (!this.dataFile || !this.signingKey) return;
    const data: PersistedState = {
      version: 1,
      seedHash: this.seedHash,
      signingKey: this.signingKey,
      clockOffsetMs: this.clockOffsetMs,
      tenants: this.tenants,
      grants: this.grants,
      refreshTokens: [...this.refreshTokens.values()],
    };
    mkdirSync(path.dirname(this.dataFile), { recursive: true });
    const tmp = `${this.dataFile}.${process.pid}.tmp`;
    writeFileSync(tmp, JSON.stringify(data, null, 2), { mode: 0o600 });
    renameSync(tmp, this.dataFile);
  }
}

export function union(a: readonly string[], b: readonly string[]): string[] {
  return [...new Set([...a, ...b])];
}
