/**
 * Scopes as the v2.0 endpoint reads them: OpenID Connect scopes, Microsoft Graph permissions written
 * as `https://graph.microsoft.com/Name`, `00000003-…/Name` or bare `Name` (bare names mean Graph), and
 * `<resource>/.default`. Only Graph is a delegated resource here.
 */

export const GRAPH_RESOURCE = 'https://graph.microsoft.com';
export const GRAPH_APP_ID = '00000003-0000-0000-c000-000000000000';
export const TOKEN_EXCHANGE_AUDIENCE = 'api://AzureADTokenExchange';
export const OIDC_SCOPES = ['openid', 'profile', 'email', 'offline_access'] as const;

export interface GraphPermission {
  name: string;
  /** Needs an administrator (the "Need admin approval" page for everyone else). */
  adminConsentRequired: boolean;
  /** The line shown on the consent page. */
  consentDisplay: string;
}

/** Delegated Graph permissions the simulator knows (a slice of the Graph permissions reference). */
export const graphPermissions: readonly GraphPermission[] = [
  { name: 'User.Read', adminConsentRequired: false, consentDisplay: 'Sign you in and read your profile' },
  {
    name: 'User.ReadBasic.All',
    adminConsentRequired: false,
    consentDisplay: "Read all users' basic profiles",
  },
  { name: 'User.Read.All', adminConsentRequired: true, consentDisplay: "Read all users' full profiles" },
  {
    name: 'User.ReadWrite.All',
    adminConsentRequired: true,
    consentDisplay: "Read and write all users' full profiles",
  },
  { name: 'Group.Read.All', adminConsentRequired: true, consentDisplay: 'Read all groups' },
  { name: 'GroupMember.Read.All', adminConsentRequired: true, consentDisplay: 'Read group memberships' },
  { name: 'Directory.Read.All', adminConsentRequired: true, consentDisplay: 'Read directory data' },
  {
    name: 'Directory.AccessAsUser.All',
    adminConsentRequired: true,
    consentDisplay: 'Access the directory as you',
  },
  {
    name: 'RoleManagement.Read.Directory',
    adminConsentRequired: true,
    consentDisplay: "Read your company's role-based access control (RBAC) settings",
  },
  {
    name: 'TeamsUserConfiguration.Read.All',
    adminConsentRequired: true,
    consentDisplay: 'Read Teams user configurations',
  },
  {
    name: 'TeamsTelephoneNumber.Read.All',
    adminConsentRequired: true,
    consentDisplay: 'Read Tenant-Acquired Telephone Number Details',
  },
  {
    name: 'TeamsTelephoneNumber.ReadWrite.All',
    adminConsentRequired: true,
    consentDisplay: 'Read and Modify Tenant-Acquired Telephone Number Details',
  },
  {
    name: 'Organization.Read.All',
    adminConsentRequired: true,
    consentDisplay: 'Read organization information',
  },
];

export const oidcConsentDisplay: Record<string, string> = {
  openid: 'Sign you in',
  profile: 'View your basic profile',
  email: 'View your email address',
  offline_access: 'Maintain access to data you have given it access to',
};

export function findGraphPermission(name: string): GraphPermission | undefined {
  const lower = name.toLowerCase();
  return graphPermissions.find((p) => p.name.toLowerCase() === lower);
}

export interface ParsedScopes {
  /** OpenID Connect scopes, lower case. */
  oidc: Set<string>;
  /** Graph permission names in their canonical case. */
  graph: string[];
  /** `https://graph.microsoft.com/.default` was asked for. */
  graphDefault: boolean;
  /** Graph was named by its URI (the access token's aud is then the URI, else the app id GUID). */
  graphByUri: boolean;
  /** `<resource>/.default` or `<resource>/<name>` for resources other than Graph. */
  otherResources: string[];
  /** The first scope that names no known permission. */
  invalid?: string;
}

const graphPrefixes = [`${GRAPH_RESOURCE}/`, `${GRAPH_APP_ID}/`];

export function parseScopes(raw: string): ParsedScopes {
  const parsed: ParsedScopes = {
    oidc: new Set(),
    graph: [],
    graphDefault: false,
    graphByUri: false,
    otherResources: [],
  };
  for (const scope of raw.split(/\s+/).filter(Boolean)) {
    const lower = scope.toLowerCase();
    if ((OIDC_SCOPES as readonly string[]).includes(lower)) {
      parsed.oidc.add(lower);
      continue;
    }
    const prefix = graphPrefixes.find((p) => lower.startsWith(p.toLowerCase()));
    let name = scope;
    if (prefix) {
      name = scope.slice(prefix.length);
      if (prefix.startsWith('https://')) parsed.graphByUri = true;
      if (name === '.default') {
        parsed.graphDefault = true;
        continue;
      }
    } else if (scope.includes('/') || scope.includes(':')) {
      parsed.otherResources.push(scope);
      continue;
    }
    const permission = findGraphPermission(name);
    if (!permission) {
      parsed.invalid ??= scope;
      continue;
    }
    if (!parsed.graph.includes(permission.name)) parsed.graph.push(permission.name);
  }
  return parsed;
}

/** Resources that issue app-only (client credentials, managed identity) tokens: identifier and app id. */
export const knownResources: readonly { id: string; appId: string }[] = [
  { id: GRAPH_RESOURCE, appId: GRAPH_APP_ID },
  { id: 'https://vault.azure.net', appId: 'cfa8b339-82a2-471a-a3c9-0fc0be7a4093' },
  { id: 'https://storage.azure.com', appId: 'e406a681-f3d4-42a8-90b6-c2b029497af1' },
  { id: 'https://management.azure.com', appId: '797f4846-ba00-4fd7-ba43-dac1f8f63013' },
  { id: TOKEN_EXCHANGE_AUDIENCE, appId: 'fb60f99c-7a34-4190-8149-302f77469936' },
];

/** `https://vault.azure.net/`, `https://vault.azure.net/.default` or the app id → the resource, if known. */
export function findResource(value: string): { id: string; appId: string } | undefined {
  const bare = value.replace(/\/\.default$/i, '').replace(/\/+$/, '');
  const lower = bare.toLowerCase();
  return knownResources.find((r) => r.id.toLowerCase() === lower || r.appId === lower);
}
