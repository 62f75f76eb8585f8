/**
 * What the provider asks of a customer's Microsoft 365, and how we say it to the customer's admin.
 * Delegated Microsoft Graph permissions: the app acts as the admin who approved it, never beyond
 * that admin's own rights. Replication needs users (with their licences), groups and memberships,
 * directory roles (who holds an admin role: directoryRoles delta) and each user's Teams voice
 * configuration (userConfigurations); changes pushed back need user writes and Teams number
 * assignment; sign-in and the refresh token need the OpenID Connect scopes.
 */
export interface RequestedPermission {
  /** As sent to Microsoft. */
  scope: string;
  /** Plain words for the invitation page. */
  description: string;
}

export const GRAPH_RESOURCE = 'https://graph.microsoft.com';

export const graphPermissions: readonly RequestedPermission[] = [
  {
    scope: `${GRAPH_RESOURCE}/User.Read.All`,
    description: 'See the people in your organization, their sign-in names and their Microsoft 365 licences',
  },
  {
    scope: `${GRAPH_RESOURCE}/Group.Read.All`,
    description: 'See your groups and who belongs to them',
  },
  {
    scope: `${GRAPH_RESOURCE}/Directory.Read.All`,
    description: 'See your organization’s directory, including who holds an admin role and your domains',
  },
  {
    scope: `${GRAPH_RESOURCE}/TeamsUserConfiguration.Read.All`,
    description:
      'See each person’s Teams phone numbers, voice routing policy, dial plan and Enterprise Voice',
  },
  {
    scope: `${GRAPH_RESOURCE}/User.ReadWrite.All`,
    description:
      'Make the changes your provider queues for your people: department, usage location and licences',
  },
  {
    scope: `${GRAPH_RESOURCE}/TeamsTelephoneNumber.ReadWrite.All`,
    description: 'Assign the Teams phone numbers your provider manages to your people',
  },
];

/** The permissions changes pushed back to Microsoft 365 need; a grant without them waits for re-consent. */
export const writeScopes: readonly string[] = [
  `${GRAPH_RESOURCE}/User.ReadWrite.All`,
  `${GRAPH_RESOURCE}/TeamsTelephoneNumber.ReadWrite.All`,
];

export const signInPermissions: readonly RequestedPermission[] = [
  { scope: 'openid', description: 'Sign you in' },
  { scope: 'profile', description: 'See your name and sign-in name' },
  {
    scope: 'offline_access',
    description: 'Keep this access after you close the window, until you withdraw it',
  },
];

/** Every scope of the sign-in request, in one string order Microsoft echoes back. */
export const consentScopes: readonly string[] = [
  ...signInPermissions.map((p) => p.scope),
  ...graphPermissions.map((p) => p.scope),
];

/** The resource scopes the app requires of a grant (token health checks every redemption against them). */
export const graphScopes: readonly string[] = graphPermissions.map((p) => p.scope);
