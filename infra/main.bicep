// Switchboard on Azure, one `azd up`: a Flex Consumption function app (Node 22) acting as one
// user-assigned managed identity that reaches Storage, Key Vault, Communication Services Email and
// Application Insights by role, never by key; a virtual network whose NAT gateway gives every
// outbound call one static public IP for the SBCs to allow-list; optionally private endpoints for
// Storage and Key Vault; alerts; and the customer-facing app registration. docs/deploy.md is the
// operator's guide; test/unit/infra keeps these files and the app in step.
//
// Layout (after the Azure Functions azd templates): core/ holds generic building blocks,
// app/ what is specific to Switchboard.
targetScope = 'subscription'

@minLength(1)
@maxLength(64)
@description('azd environment name; resource names derive from it.')
param environmentName string

@minLength(1)
@description('Region of everything regional. Flex Consumption must be offered there.')
@metadata({ azd: { type: 'location' } })
param location string

@description('Resource group to create or reuse; empty = rg-<environment name>.')
param resourceGroupName string = ''

@description('Public address of the customer pages, e.g. https://onboard.provider.example; empty = the function app\'s own address.')
param publicBaseUrl string = ''

@description('Provider name shown to customers in e-mails, pages and on the consent screen.')
param providerName string = 'Switchboard'

@description('Where consent notifications go (optional).')
param providerNotifyAddress string = ''

@description('Declare the app registration with the Microsoft Graph Bicep extension (needs an Entra role that creates applications). Off: register it by hand (docs/app-registration.md) and give appClientId.')
param createAppRegistration bool = true

@description('Client id of an existing app registration; used only when createAppRegistration is off.')
param appClientId string = ''

@description('Communication Services data location (a geography): Europe, United States, UK, …')
param emailDataLocation string = 'Europe'

@description('The provider\'s own mail domain (optional); until it is verified, mail goes from the Azure-managed domain.')
param emailCustomDomain string = ''

@description('Send from emailCustomDomain; turn on once its DNS records are verified.')
param emailUseCustomDomain bool = false

@description('Local part of the sender address.')
param emailSenderUsername string = 'DoNotReply'

@description('Memory of each instance in MB (512, 2048 or 4096).')
param instanceMemoryMB int = 2048

@description('Most instances the app scales out to (40 to 1000).')
param maximumInstanceCount int = 100

@description('Reach Storage and Key Vault only over private endpoints in the virtual network.')
param privateEndpoints bool = false

@description('With privateEndpoints: public CIDR ranges from which operators may still manage Key Vault secrets.')
param operatorIpRanges array = []

@description('Who is e-mailed when an alert fires (optional).')
param alertEmailAddress string = ''

var tags = { 'azd-env-name': environmentName }
var token = toLower(uniqueString(subscription().id, environmentName, location))
var functionAppName = 'func-switchboard-${token}'
var baseUrl = empty(publicBaseUrl) ? 'https://${functionAppName}.azurewebsites.net' : publicBaseUrl
var redirectUri = '${baseUrl}/authenticate/OAuth2Callback'

// Every queue a trigger listens on (functions/index.ts, unprefixed: STORAGE_NAME_PREFIX is empty
// in Azure) and the <name>-poison queue the host moves failures to. test/unit/infra fails when a
// trigger's queue is missing here.
var queueNames = [
  'orders'
  'orders-poison'
  'order-callbacks'
  'order-callbacks-poison'
  'token-verify'
  'token-verify-poison'
  'replication-sync'
  'replication-sync-poison'
  'replication-push'
  'replication-push-poison'
  'sbc-changes'
  'sbc-changes-poison'
]

resource rg 'Microsoft.Resources/resourceGroups@2021-04-01' = {
  name: empty(resourceGroupName) ? 'rg-${environmentName}' : resourceGroupName
  location: location
  tags: tags
}

module identity 'core/security/user-assigned-identity.bicep' = {
  name: 'identity'
  scope: rg
  params: {
    name: 'id-switchboard-${token}'
    location: location
    tags: tags
  }
}

module monitoring 'core/monitor/monitoring.bicep' = {
  name: 'monitoring'
  scope: rg
  params: {
    logAnalyticsName: 'log-switchboard-${token}'
    applicationInsightsName: 'appi-switchboard-${token}'
    location: location
    tags: tags
  }
}

module network 'core/network/vnet-nat.bicep' = {
  name: 'network'
  scope: rg
  params: {
    vnetName: 'vnet-switchboard-${token}'
    natGatewayName: 'ng-switchboard-${token}'
    publicIpName: 'pip-switchboard-outbound-${token}'
    location: location
    tags: tags
  }
}

module storage 'core/storage/storage-account.bicep' = {
  name: 'storage'
  scope: rg
  params: {
    name: 'st${token}'
    location: location
    tags: tags
    deploymentContainerName: 'app-package'
    queueNames: queueNames
    privateOnly: privateEndpoints
  }
}

module vault 'core/security/key-vault.bicep' = {
  name: 'vault'
  scope: rg
  params: {
    name: 'kv-sw-${token}'
    location: location
    tags: tags
    privateOnly: privateEndpoints
    operatorIpRanges: operatorIpRanges
  }
}

module email 'core/communication/email.bicep' = {
  name: 'email'
  scope: rg
  params: {
    communicationServiceName: 'acs-switchboard-${token}'
    emailServiceName: 'ecs-switchboard-${token}'
    tags: tags
    dataLocation: emailDataLocation
    senderUsername: emailSenderUsername
    senderDisplayName: providerName
    customDomainName: emailCustomDomain
    useCustomDomain: emailUseCustomDomain
  }
}

// Storage (blob, queue, table) and Key Vault over private endpoints, each with its privatelink DNS
// zone linked to the virtual network. Key Vault's zone name is the public cloud's.
var privateTargets = [
  { name: 'blob', groupId: 'blob', zone: 'privatelink.blob.${environment().suffixes.storage}', vault: false }
  { name: 'queue', groupId: 'queue', zone: 'privatelink.queue.${environment().suffixes.storage}', vault: false }
  { name: 'table', groupId: 'table', zone: 'privatelink.table.${environment().suffixes.storage}', vault: false }
  { name: 'vault', groupId: 'vault', zone: 'privatelink.vaultcore.azure.net', vault: true }
]

module privateEndpointsOf 'core/network/private-endpoint.bicep' = [
  for target in privateTargets: if (privateEndpoints) {
    name: 'pe-${target.name}'
    scope: rg
    params: {
      name: 'pe-switchboard-${target.name}-${token}'
      location: location
      tags: tags
      subnetId: network.outputs.privateEndpointSubnetId
      vnetId: network.outputs.vnetId
      targetId: target.vault ? vault.outputs.id : storage.outputs.id
      groupId: target.groupId
      dnsZoneName: target.zone
    }
  }
]

module appRegistration 'app/app-registration.bicep' = if (createAppRegistration) {
  name: 'app-registration'
  scope: rg
  params: {
    uniqueName: 'switchboard-${environmentName}-${token}'
    displayName: providerName
    redirectUri: redirectUri
    managedIdentityPrincipalId: identity.outputs.principalId
  }
}

var clientId = createAppRegistration ? appRegistration.outputs.clientId : appClientId

module functionApp 'app/function-app.bicep' = {
  name: 'function-app'
  scope: rg
  params: {
    name: functionAppName
    planName: 'plan-switchboard-${token}'
    location: location
    tags: tags
    instanceMemoryMB: instanceMemoryMB
    maximumInstanceCount: maximumInstanceCount
    identityId: identity.outputs.id
    identityClientId: identity.outputs.clientId
    storageAccountName: storage.outputs.name
    deploymentContainerUrl: storage.outputs.deploymentContainerUrl
    applicationInsightsConnectionString: monitoring.outputs.applicationInsightsConnectionString
    appSubnetId: network.outputs.appSubnetId
    keyVaultUrl: vault.outputs.uri
    emailEndpoint: email.outputs.endpoint
    emailSenderAddress: email.outputs.senderAddress
    appClientId: clientId
    publicBaseUrl: baseUrl
    providerName: providerName
    providerNotifyAddress: providerNotifyAddress
  }
}

module rbac 'app/rbac.bicep' = {
  name: 'rbac'
  scope: rg
  params: {
    principalId: identity.outputs.principalId
    storageAccountName: storage.outputs.name
    keyVaultName: vault.outputs.name
    communicationServiceName: email.outputs.communicationServiceName
    applicationInsightsName: monitoring.outputs.applicationInsightsName
  }
}

module alerts 'app/alerts.bicep' = {
  name: 'alerts'
  scope: rg
  params: {
    applicationInsightsId: monitoring.outputs.applicationInsightsId
    location: location
    tags: tags
    namePrefix: 'switchboard-${token}'
    alertEmailAddress: alertEmailAddress
  }
}

// azd keeps these in the environment (.azure/<env>/.env); none is a key or a secret.
output AZURE_LOCATION string = location
output AZURE_TENANT_ID string = tenant().tenantId
output AZURE_RESOURCE_GROUP string = rg.name
output AZURE_FUNCTION_APP_NAME string = functionApp.outputs.name
output FUNCTION_APP_URL string = 'https://${functionApp.outputs.defaultHostName}'
output PUBLIC_BASE_URL string = baseUrl
output OAUTH_REDIRECT_URI string = redirectUri
output APP_CLIENT_ID string = clientId
output MANAGED_IDENTITY_CLIENT_ID string = identity.outputs.clientId
output MANAGED_IDENTITY_PRINCIPAL_ID string = identity.outputs.principalId
output KEY_VAULT_NAME string = vault.outputs.name
output KEY_VAULT_URL string = vault.outputs.uri
output EMAIL_SENDER_ADDRESS string = email.outputs.senderAddress
output EMAIL_CUSTOM_DOMAIN_DNS_RECORDS object = email.outputs.customDomainVerificationRecords
output APPLICATIONINSIGHTS_NAME string = monitoring.outputs.applicationInsightsName
// The one address every outbound call comes from: the SBCs and firewalls allow-list it.
output OUTBOUND_IP_ADDRESS string = network.outputs.outboundIpAddress
