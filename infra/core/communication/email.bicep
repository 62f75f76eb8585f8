// Communication Services Email, end to end: an Email Communication Service with an Azure-managed
// domain (ready at once, sends from <guid>.azurecomm.net), optionally the provider's own domain,
// both linked to the Communication Services resource the app calls. The sender address is derived
// here, so EMAIL_SENDER_ADDRESS always names a domain that is linked.
param communicationServiceName string
param emailServiceName string
param tags object = {}

@description('Where Communication Services keeps its data (a geography, not a region), e.g. Europe or United States.')
param dataLocation string = 'Europe'

@description('Local part of the sender address.')
param senderUsername string = 'DoNotReply'

@description('Display name of the sender (custom domain only; the managed domain shows its default).')
param senderDisplayName string = 'Switchboard'

@description('The provider\'s own mail domain, e.g. mail.provider.example; empty = the Azure-managed domain only.')
param customDomainName string = ''

@description('Send from the custom domain. Turn on only after its DNS records (output customDomainVerificationRecords) are verified: an unverified domain cannot be linked.')
param useCustomDomain bool = false

var hasCustomDomain = !empty(customDomainName)
var sendFromCustom = hasCustomDomain && useCustomDomain

resource emailService 'Microsoft.Communication/emailServices@2023-04-01' = {
  name: emailServiceName
  location: 'global'
  tags: tags
  properties: { dataLocation: dataLocation }
}

resource managedDomain 'Microsoft.Communication/emailServices/domains@2023-04-01' = {
  parent: emailService
  name: 'AzureManagedDomain'
  location: 'global'
  tags: tags
  properties: {
    domainManagement: 'AzureManaged'
    userEngagementTracking: 'Disabled'
  }
}

resource customDomain 'Microsoft.Communication/emailServices/domains@2023-04-01' = if (hasCustomDomain) {
  parent: emailService
  name: hasCustomDomain ? customDomainName : 'unused'
  location: 'global'
  tags: tags
  properties: {
    domainManagement: 'CustomerManaged'
    userEngagementTracking: 'Disabled'
  }
}

// The managed domain comes with DoNotReply; a custom domain gets the sender declared here.
resource customSender 'Microsoft.Communication/emailServices/domains/senderUsernames@2023-04-01' = if (hasCustomDomain) {
  parent: customDomain
  name: toLower(senderUsername)
  properties: {
    username: senderUsername
    displayName: senderDisplayName
  }
}

resource communication 'Microsoft.Communication/communicationServices@2023-04-01' = {
  name: communicationServiceName
  location: 'global'
  tags: tags
  properties: {
    dataLocation: dataLocation
    linkedDomains: sendFromCustom ? [managedDomain.id, customDomain.id] : [managedDomain.id]
  }
}

output communicationServiceName string = communication.name
output communicationServiceId string = communication.id
output endpoint string = 'https://${communication.properties.hostName}'
output senderAddress string = sendFromCustom
  ? '${senderUsername}@${customDomainName}'
  : '${senderUsername}@${managedDomain.properties.fromSenderDomain}'
// DNS records (TXT, SPF, DKIM, DKIM2) the provider adds for its custom domain; not secrets.
output customDomainVerificationRecords object = hasCustomDomain ? customDomain.properties.verificationRecords : {}
