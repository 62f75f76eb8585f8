// Log Analytics and a workspace-based Application Insights that accepts telemetry only from Entra
// identities: DisableLocalAuth turns the instrumentation key into a mere address, so the connection
// string in the app settings carries no credential. The function app's identity publishes with
// Monitoring Metrics Publisher (app/rbac.bicep) and APPLICATIONINSIGHTS_AUTHENTICATION_STRING.
param logAnalyticsName string
param applicationInsightsName string
param location string
param tags object = {}

@description('Days Log Analytics keeps the logs.')
param retentionInDays int = 30

resource logs 'Microsoft.OperationalInsights/workspaces@2023-09-01' = {
  name: logAnalyticsName
  location: location
  tags: tags
  properties: {
    sku: { name: 'PerGB2018' }
    retentionInDays: retentionInDays
  }
}

resource insights 'Microsoft.Insights/components@2020-02-02' = {
  name: applicationInsightsName
  location: location
  tags: tags
  kind: 'web'
  properties: {
    Application_Type: 'web'
    WorkspaceResourceId: logs.id
    DisableLocalAuth: true
  }
}

output applicationInsightsName string = insights.name
output applicationInsightsId string = insights.id
// Not a secret: with local auth disabled it only says where telemetry goes.
output applicationInsightsConnectionString string = insights.properties.ConnectionString
output logAnalyticsId string = logs.id
