/**
 * The seeded directory of the simulated Microsoft 365: customer tenants with their users and admin
 * roles, the provider's app registration and its managed identity. Every id is a fixed GUID so tests,
 * fixtures and people trying the stack can name them; pass your own Seed to startM365Simulator to
 * replace it.
 */

/** Role template ids, copied from test/fixtures/microsoft/directory-role-template-ids.json (a test checks they agree). */
export const roleTemplateIds = {
  'Global Administrator': '62e90394-69f5-4237-9190-012177145e10',
  'Global Reader': 'f2ef992c-3afb-46b9-b7cf-a126ee74c451',
  'Application Administrator': '9b895d92-2cd3-44c7-9d02-a6ac2d5ea5c3',
  'Cloud Application Administrator': '158c047a-c907-4556-b7ef-446551a6b5f7',
  'Privileged Role Administrator': 'e8611ab8-c189-46e8-94e1-60213ab1f814',
  'User Administrator': 'fe930be7-5e62-47db-91af-98c3a49a38b1',
  'Teams Administrator': '69091246-20e8-4a56-aa4d-066075b2a7a8',
  'Teams Communications Administrator': 'baf37b3a-610e-45da-9e62-d9d1e5e8914b',
  'Teams Communications Support Engineer': 'f70938a0-fc10-4177-9e90-2178f8765737',
  'Teams Communications Support Specialist': 'fcf91098-03e3-41a9-b5ba-6f0ec8188a12',
  'Teams Telephony Administrator': 'aa38014f-0993-46e9-9b45-30501a20909d',
  'Teams Devices Administrator': '3d762c5a-1b6c-493f-843e-55a3b42923d4',
  'Teams Reader': '1076ac91-f3d9-41a7-a339-dcdf5f480acc',
  'Skype for Business Administrator': '75941009-915a-4869-abe7-691bff18279e',
  'Exchange Administrator': '29232cdf-9323-42fd-ade2-1d097af3e4de',
  'License Administrator': '4d6ac14f-3453-41d0-bef9-a3e0c569773a',
  'Groups Administrator': 'fdd7a751-b60b-444a-984c-02652fe8fa1c',
  'Directory Readers': '88d8e3e3-8f55-4a1e-953a-9b9898b8876b',
} as const;

export type RoleName = keyof typeof roleTemplateIds;

/** Roles that may grant tenant-wide (admin) consent to delegated Graph permissions. */
export const adminConsentRoles: readonly string[] = [
  roleTemplateIds['Global Administrator'],
  roleTemplateIds['Privileged Role Administrator'],
  roleTemplateIds['Cloud Application Administrator'],
  roleTemplateIds['Application Administrator'],
];

export interface SeedUser {
  id: string;
  displayName: string;
  givenName: string | null;
  surname: string | null;
  userPrincipalName: string;
  mail: string | null;
  userType: 'Member' | 'Guest';
  accountEnabled: boolean;
  jobTitle?: string | null;
  businessPhones?: string[];
  mobilePhone?: string | null;
  officeLocation?: string | null;
  preferredLanguage?: string | null;
  usageLocation?: string | null;
  department?: string | null;
  /** Directory role names (template ids come from roleTemplateIds). */
  roles: RoleName[];
  /** Guests: the tenant their account lives in (sets the idp claim), when it is one of the seeded tenants. */
  homeTenantId?: string;
}

export interface SeedDomain {
  name: string;
  isDefault: boolean;
  isInitial: boolean;
  type: 'Managed' | 'Federated';
  capabilities: string;
}

export interface SeedTenant {
  id: string;
  displayName: string;
  tenantType: 'AAD';
  countryLetterCode: string;
  createdDateTime: string;
  verifiedDomains: SeedDomain[];
  users: SeedUser[];
}

export interface SeedClientSecret {
  /** The secret value the app sends. */
  value: string;
  /** ISO date; an expired secret gets AADSTS7000222. */
  endDateTime?: string;
}

export interface SeedFederatedCredential {
  /** Issuer of accepted assertions; default: this simulator's v2.0 issuer of tenantId. */
  issuer?: string;
  /** Tenant of the default issuer (default: the app's home tenant). */
  tenantId?: string;
  subject: string;
  audiences: string[];
}

export interface SeedApp {
  clientId: string;
  displayName: string;
  /** Shown on the consent page; an unverified publisher shows its domain like Microsoft does. */
  publisherDomain: string;
  homeTenantId: string;
  clientSecrets: SeedClientSecret[];
  /** PEM public keys or certificates accepted for client_assertion (private_key_jwt). */
  certificates?: string[];
  /** Workload identity federation, e.g. the managed identity's token as client_assertion. */
  federatedCredentials?: SeedFederatedCredential[];
  redirectUris: string[];
  /** Delegated Graph permissions of the registration (what `.default` means), as full scope strings. */
  requestedScopes: string[];
  /** Application permissions (app roles) granted to the app by tenant admin consent. */
  applicationPermissions: string[];
}

export interface SeedManagedIdentity {
  clientId: string;
  principalId: string;
  tenantId: string;
  /** Azure resource id, surfaced as xms_mirid. */
  resourceId: string;
}

/** Consent already granted when the simulator starts (e.g. to test replication without a browser). */
export interface SeedConsent {
  tenantId: string;
  clientId: string;
  /** Delegated Graph permission names granted tenant-wide. */
  scopes: string[];
  /** Application permissions granted (roles in client-credentials tokens). */
  applicationPermissions?: string[];
}

export interface Seed {
  tenants: SeedTenant[];
  apps: SeedApp[];
  managedIdentity: SeedManagedIdentity;
  consents?: SeedConsent[];
}

export const providerTenantId = 'abdd1fd4-592f-4edc-a64b-6a458b213e1e';
export const defaultClientId = 'e3847379-07c7-4147-b0df-4307274a9d9e';
export const defaultClientSecret = 'local-dev-client-secret';

export const seedIds = {
  provider: providerTenantId,
  app: defaultClientId,
  managedIdentity: {
    clientId: 'd1dc29d2-28f3-425e-bc4e-3bef95e508a1',
    principalId: 'bc984e1e-0dfa-4555-96d7-ffe14abac3ae',
  },
  contoso: {
    tenantId: 'acde3d5a-b52e-41fb-93b8-83d4502680ea',
    admin: '38ab794c-e5dd-46b7-91e2-9fd7714d29c0',
    teamsAdmin: 'e4772b6a-55fc-4ae5-9459-ec36b5c592f8',
    user: '49446f69-cf1f-4c65-8a38-53399859ce0c',
    guest: 'ad24cbac-5e03-480e-8034-06eaf69b52c6',
  },
  fabrikam: {
    tenantId: 'da613e53-17aa-47a9-aec7-0ec07f33b9b7',
    admin: '934a9e56-dc15-4628-8a54-36e2c2245e25',
    teamsAdmin: 'f94a5348-ee8f-4d59-96ff-340109b1ce16',
    user: '833e20b1-33b8-43fc-9118-3ddd6bfa5cdf',
    guest: '327cce5a-d481-4537-88f4-c63c084f4577',
  },
  northwind: {
    tenantId: '74e0c38d-3055-40f5-8228-883fc8e86300',
    admin: '66616dd5-5638-48d2-a82f-29326b1c930d',
    teamsAdmin: '88774a24-9761-41ee-ae2f-2c36b28c2056',
    user: '5c2f5733-ac16-4fbe-8283-8785a8c5cd83',
    guest: 'e347ce4c-f9a8-4c50-a719-ed469041079b',
  },
} as const;

const capabilities = 'Email, OfficeCommunicationsOnline';

function domains(initial: string, custom: string): SeedDomain[] {
  return [
    { name: custom, isDefault: true, isInitial: false, type: 'Managed', capabilities },
    { name: initial, isDefault: false, isInitial: true, type: 'Managed', capabilities },
  ];
}

function member(
  id: string,
  givenName: string,
  surname: string,
  upn: string,
  jobTitle: string,
  roles: RoleName[],
): SeedUser {
  return {
    id,
    displayName: `${givenName} ${surname}`,
    givenName,
    surname,
    userPrincipalName: upn,
    mail: upn,
    userType: 'Member',
    accountEnabled: true,
    jobTitle,
    businessPhones: [],
    mobilePhone: null,
    officeLocation: null,
    preferredLanguage: 'en-US',
    usageLocation: 'US',
    department: null,
    roles,
  };
}

/** A B2B guest: the UPN is the home address with @ turned into _, then #EXT# and the host tenant's initial domain. */
function guest(id: string, home: SeedUser, homeTenantId: string, hostInitialDomain: string): SeedUser {
  const mail = home.mail ?? home.userPrincipalName;
  return {
    ...home,
    id,
    userPrincipalName: `${mail.replace('@', '_')}#EXT#@${hostInitialDomain}`,
    mail,
    userType: 'Guest',
    jobTitle: null,
    roles: [],
    homeTenantId,
  };
}

const c = seedIds.contoso;
const f = seedIds.fabrikam;
const n = seedIds.northwind;

const contosoAdmin = member(c.admin, 'Patti', 'Fernandez', 'patti@contoso.com', 'Director', [
  'Global Administrator',
]);
const contosoTeams = member(c.teamsAdmin, 'Lynne', 'Robbins', 'lynne@contoso.com', 'Voice Engineer', [
  'Teams Communications Administrator',
]);
const contosoUser = member(c.user, 'Alex', 'Wilber', 'alex@contoso.com', 'Marketing Assistant', []);
const fabrikamAdmin = member(f.admin, 'Isaiah', 'Langer', 'isaiah@fabrikam.com', 'IT Manager', [
  'Global Administrator',
]);
const fabrikamTeams = member(f.teamsAdmin, 'Grady', 'Archie', 'grady@fabrikam.com', 'Telephony Lead', [
  'Teams Communications Administrator',
]);
const fabrikamUser = member(f.user, 'Johanna', 'Lorenz', 'johanna@fabrikam.com', 'Sales Rep', []);
const northwindAdmin = member(n.admin, 'Nestor', 'Wilke', 'nestor@northwindtraders.com', 'CIO', [
  'Global Administrator',
]);
const northwindTeams = member(n.teamsAdmin, 'Pradeep', 'Gupta', 'pradeep@northwindtraders.com', 'UC Admin', [
  'Teams Communications Administrator',
]);
const northwindUser = member(n.user, 'Diego', 'Siciliani', 'diego@northwindtraders.com', 'HR Manager', []);

export const defaultGraphScopes = [
  'https://graph.microsoft.com/User.Read.All',
  'https://graph.microsoft.com/Group.Read.All',
  'https://graph.microsoft.com/Directory.Read.All',
  'https://graph.microsoft.com/TeamsUserConfiguration.Read.All',
  'https://graph.microsoft.com/User.ReadWrite.All',
  'https://graph.microsoft.com/TeamsTelephoneNumber.ReadWrite.All',
];

/** The scopes the provider's app asks for at sign-in (the Graph ones plus the OpenID Connect ones). */
export const defaultRequestedScopes = [...defaultGraphScopes, 'offline_access', 'openid', 'profile'];

export function createDefaultSeed(redirectUris: string[] = []): Seed {
  return {
    tenants: [
      {
        id: providerTenantId,
        displayName: 'Switchboard Provider (dev)',
        tenantType: 'AAD',
        countryLetterCode: 'US',
        createdDateTime: '2021-03-01T09:00:00Z',
        verifiedDomains: [
          {
            name: 'switchboarddev.onmicrosoft.com',
            isDefault: true,
            isInitial: true,
            type: 'Managed',
            capabilities,
          },
        ],
        users: [],
      },
      {
        id: c.tenantId,
        displayName: 'Contoso',
        tenantType: 'AAD',
        countryLetterCode: 'US',
        createdDateTime: '2019-06-12T15:04:11Z',
        verifiedDomains: domains('contoso.onmicrosoft.com', 'contoso.com'),
        users: [
          contosoAdmin,
          contosoTeams,
          contosoUser,
          guest(c.guest, fabrikamAdmin, f.tenantId, 'contoso.onmicrosoft.com'),
        ],
      },
      {
        id: f.tenantId,
        displayName: 'Fabrikam',
        tenantType: 'AAD',
        countryLetterCode: 'GB',
        createdDateTime: '2020-02-20T10:30:00Z',
        verifiedDomains: domains('fabrikam.onmicrosoft.com', 'fabrikam.com'),
        users: [
          fabrikamAdmin,
          fabrikamTeams,
          fabrikamUser,
          guest(f.guest, contosoUser, c.tenantId, 'fabrikam.onmicrosoft.com'),
        ],
      },
      {
        id: n.tenantId,
        displayName: 'Northwind Traders',
        tenantType: 'AAD',
        countryLetterCode: 'DE',
        createdDateTime: '2018-11-05T08:15:00Z',
        verifiedDomains: domains('northwindtraders.onmicrosoft.com', 'northwindtraders.com'),
        users: [
          northwindAdmin,
          northwindTeams,
          northwindUser,
          guest(n.guest, fabrikamUser, f.tenantId, 'northwindtraders.onmicrosoft.com'),
        ],
      },
    ],
    apps: [
      {
        clientId: defaultClientId,
        displayName: 'Switchboard (local dev)',
        publisherDomain: 'switchboarddev.onmicrosoft.com',
        homeTenantId: providerTenantId,
        clientSecrets: [{ value: defaultClientSecret }],
        federatedCredentials: [
          {
            subject: seedIds.managedIdentity.principalId,
            audiences: ['api://AzureADTokenExchange'],
          },
        ],
        redirectUris,
        requestedScopes: defaultGraphScopes,
        applicationPermissions: ['User.Read.All', 'Group.Read.All', 'Directory.Read.All'],
      },
    ],
    managedIdentity: {
      clientId: seedIds.managedIdentity.clientId,
      principalId: seedIds.managedIdentity.principalId,
      tenantId: providerTenantId,
      resourceId:
        '/subscriptions/00000000-0000-0000-0000-000000000000/resourcegroups/switchboard-dev/providers/Microsoft.Web/sites/switchboard-dev',
    },
  };
}
