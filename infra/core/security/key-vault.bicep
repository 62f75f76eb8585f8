// Key Vault with Azure RBAC (no access policies): customers' refresh tokens, the orders webhook
// secrets and, if ever used, the app's client secret or certificate. Purge protection keeps a
// deleted token recoverable for the retention period.
param name string
param location string
param tags object = {}

@description('Reach the vault only over a private endpoint, except from operatorIpRanges.')
param privateOnly bool = false

@description('Public addresses (CIDR) from which operators manage secrets when privateOnly is on.')
param operatorIpRanges array = []

var ipRules = [for range in operatorIpRanges: { value: range }]

resource vault 'Microsoft.KeyVault/vaults@2023-07-01' = {
  name: name
  location: location
  tags: tags
  properties: {
    tenantId: tenant().tenantId
    sku: { family: 'A', name: 'standard' }
    enableRbacAuthorization: true
    enableSoftDelete: true
    softDeleteRetentionInDays: 90
    enablePurgeProtection: true
    publicNetworkAccess: privateOnly && empty(operatorIpRanges) ? 'Disabled' : 'Enabled'
    networkAcls: privateOnly
      ? { defaultAction: 'Deny', bypass: 'None', ipRules: ipRules }
      : { defaultAction: 'Allow', bypass: 'AzureServices' }
  }
}

output name string = vault.name
output id string = vault.id
output uri string = vault.properties.vaultUri
