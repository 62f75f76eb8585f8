// Switchboard's function app on Flex Consumption (Node 22), running as the user-assigned identity,
// integrated with the virtual network whose subnet leaves through the NAT gateway.
//
// App settings: every setting the config schema (shared/config/index.ts) requires is set here,
// and nothing the app or the Functions host does not read; test/unit/infra checks both. None
// holds a key or a secret: storage, Key Vault, Communication Services and Application Insights
// are reached by identity, and the app names its Key Vault secrets by convention.
param name string
param planName string
param location string
param tags object = {}

@description('azd finds the app to deploy by this tag (services.app in azure.yaml).')
param serviceName string = 'app'

@description('Memory of each instance in MB: 2048 (default) suits the Graph replication of large tenants; 512 is cheaper, 4096 for the largest.')
@allowed([512, 2048, 4096])
param instanceMemoryMB int = 2048

@description('Most instances the app scales out to (Flex Consumption: 40 to 1000). 100 by default: queues drain fast and the SBCs and Graph are not flooded.')
@minValue(40)
@maxValue(1000)
param maximumInstanceCount int = 100

param identityId string
param identityClientId string
param storageAccountName string
param deploymentContainerUrl string
param applicationInsightsConnectionString string
param appSubnetId string

param keyVaultUrl string
param emailEndpoint string
param emailSenderAddress string
param appClientId string
param publicBaseUrl string
param providerName string
param providerNotifyAddress string = ''

resource storage 'Microsoft.Storage/storageAccounts@2023-05-01' existing = {
  name: storageAccountName
}

var appSettings = {
  // The host's storage and the app's tables and queues, by identity (no connection string); the
  // app reads the table and queue URIs, the host all three.
  AzureWebJobsStorage__credential: 'managedidentity'
  AzureWebJobsStorage__clientId: identityClientId
  AzureWebJobsStorage__blobServiceUri: storage.properties.primaryEndpoints.blob
  AzureWebJobsStorage__queueServiceUri: storage.properties.primaryEndpoints.queue
  AzureWebJobsStorage__tableServiceUri: storage.properties.primaryEndpoints.table
  // Telemetry with Entra authentication: the resource refuses the instrumentation key alone.
  APPLICATIONINSIGHTS_CONNECTION_STRING: applicationInsightsConnectionString
  APPLICATIONINSIGHTS_AUTHENTICATION_STRING: 'ClientId=${identityClientId};Authorization=AAD'
  MANAGED_IDENTITY_CLIENT_ID: identityClientId
  KEY_VAULT_URL: keyVaultUrl
  EMAIL_ENDPOINT: emailEndpoint
  EMAIL_SENDER_ADDRESS: emailSenderAddress
  APP_CLIENT_ID: appClientId
  // No client secret exists: the managed identity is the app registration's federated credential.
  APP_CREDENTIAL: 'managed-identity'
  PUBLIC_BASE_URL: publicBaseUrl
  PROVIDER_NAME: providerName
  // Empty means "not set" to the app (and to the portal).
  PROVIDER_NOTIFY_ADDRESS: providerNotifyAddress
  // The token verification timer's schedule names this setting (%TOKENS_VERIFY_SCHEDULE%): the host
  // refuses to start a timer whose setting is missing. Every six hours, on the hour (UTC).
  TOKENS_VERIFY_SCHEDULE: '0 0 */6 * * *'
  // Teams voice configurations have no delta: each tenant's are read again this often (minutes).
  REPLICATION_VOICE_MINUTES: '60'
  // Admin-role memberships (directoryRoles delta) are checked this often (minutes).
  REPLICATION_ROLES_MINUTES: '15'
  // Changes queued for a tenant go to Microsoft 365 after this many quiet minutes (as UMP-365).
  REPLICATION_PUSH_QUIET_MINUTES: '5'
  // Each instance keeps to its share of Graph's app-wide budget (150,000 resource units per 20 s):
  // the share follows the plan's ceiling, so all instances together stay under it.
  REPLICATION_MAX_INSTANCES: string(maximumInstanceCount)
}

resource plan 'Microsoft.Web/serverfarms@2024-04-01' = {
  name: planName
  location: location
  tags: tags
  kind: 'functionapp'
  sku: { tier: 'FlexConsumption', name: 'FC1' }
  properties: { reserved: true }
}

resource functionApp 'Microsoft.Web/sites@2024-04-01' = {
  name: name
  location: location
  tags: union(tags, { 'azd-service-name': serviceName })
  kind: 'functionapp,linux'
  identity: {
    type: 'UserAssigned'
    userAssignedIdentities: { '${identityId}': {} }
  }
  properties: {
    serverFarmId: plan.id
    httpsOnly: true
    virtualNetworkSubnetId: appSubnetId
    functionAppConfig: {
      deployment: {
        storage: {
          type: 'blobContainer'
          value: deploymentContainerUrl
          authentication: { type: 'UserAssignedIdentity', userAssignedIdentityResourceId: identityId }
        }
      }
      scaleAndConcurrency: {
        instanceMemoryMB: instanceMemoryMB
        maximumInstanceCount: maximumInstanceCount
      }
      // Flex Consumption takes the runtime here; FUNCTIONS_WORKER_RUNTIME and
      // FUNCTIONS_EXTENSION_VERSION must not be app settings. The bundle targets node22
      // (scripts/build.ts) and still runs on Node 20 locally.
      runtime: { name: 'node', version: '22' }
    }
    siteConfig: {
      minTlsVersion: '1.2'
    }
  }
}

// The settings as one object (as the azd templates' site module does): a for-loop over them could
// not be used, since some values are only known while deploying. This replaces all settings.
resource settings 'Microsoft.Web/sites/config@2024-04-01' = {
  parent: functionApp
  name: 'appsettings'
  properties: appSettings
}

output name string = functionApp.name
output id string = functionApp.id
output defaultHostName string = functionApp.properties.defaultHostName
