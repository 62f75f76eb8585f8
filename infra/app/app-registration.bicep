// The provider's multi-tenant app registration that customers' admins consent to, declared with
// the Microsoft Graph Bicep extension: redirect URI <public base URL>/authenticate/OAuth2Callback,
// the delegated Microsoft Graph permissions the sign-in asks for (shared/identity/scopes.ts), and
// the function app's managed identity as its federated credential, so no client secret exists.
// Deploying it needs an Entra role that may create applications (Application Developer or Cloud
// Application Administrator); without one, set createAppRegistration=false and follow
// docs/app-registration.md.
extension 'br:mcr.microsoft.com/bicep/extensions/microsoftgraph/v1.0:1.0.0'

@description('Unique name of the registration in the tenant (its key for re-deployments).')
param uniqueName string

@description('What customers\' admins see on Microsoft\'s consent page.')
param displayName string

param redirectUri string

@description('Principal (object) id of the managed identity trusted as the credential.')
param managedIdentityPrincipalId string

// Microsoft Graph's well-known application id.
var graphAppId = '00000003-0000-0000-c000-000000000000'

// Delegated permissions, as Microsoft Graph names them: exactly the scopes of the sign-in request
// (shared/identity/scopes.ts; test/unit/infra keeps the two equal).
var delegatedPermissions = [
  'openid'
  'profile'
  'offline_access'
  'User.Read.All'
  'Group.Read.All'
  'Directory.Read.All'
  'TeamsUserConfiguration.Read.All'
  // Changes pushed back: user edits and licences, Teams phone numbers.
  'User.ReadWrite.All'
  'TeamsTelephoneNumber.ReadWrite.All'
]

resource graph 'Microsoft.Graph/servicePrincipals@v1.0' existing = {
  appId: graphAppId
}

resource app 'Microsoft.Graph/applications@v1.0' = {
  uniqueName: uniqueName
  displayName: displayName
  signInAudience: 'AzureADMultipleOrgs'
  web: {
    redirectUris: [redirectUri]
    // Authorization code flow with PKCE only.
    implicitGrantSettings: { enableAccessTokenIssuance: false, enableIdTokenIssuance: false }
  }
  requiredResourceAccess: [
    {
      resourceAppId: graphAppId
      // Permission ids are looked up by name in the tenant's Microsoft Graph service principal.
      resourceAccess: [
        for permission in delegatedPermissions: {
          id: filter(graph.oauth2PermissionScopes, s => s.value == permission)[0].id
          type: 'Scope'
        }
      ]
    }
  ]

  resource managedIdentityCredential 'federatedIdentityCredentials@v1.0' = {
    name: '${app.uniqueName}/switchboard-managed-identity'
    description: 'The function app\'s user-assigned managed identity (APP_CREDENTIAL=managed-identity).'
    audiences: ['api://AzureADTokenExchange']
    issuer: '${environment().authentication.loginEndpoint}${tenant().tenantId}/v2.0'
    subject: managedIdentityPrincipalId
  }
}

// The registration's service principal in the provider's own tenant (as the portal creates it).
resource servicePrincipal 'Microsoft.Graph/servicePrincipals@v1.0' = {
  appId: app.appId
}

output clientId string = app.appId
