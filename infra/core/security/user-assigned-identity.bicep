// The one identity Switchboard acts as: storage, Key Vault, Communication Services, Application
// Insights and (as a federated credential) the customer-facing app registration.
param name string
param location string
param tags object = {}

resource identity 'Microsoft.ManagedIdentity/userAssignedIdentities@2023-01-31' = {
  name: name
  location: location
  tags: tags
}

output id string = identity.id
output name string = identity.name
output clientId string = identity.properties.clientId
output principalId string = identity.properties.principalId
