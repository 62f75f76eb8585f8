// The fixed outbound address. The function app is integrated with the "app" subnet; on Flex
// Consumption an integrated app sends all its outbound traffic into the virtual network, and this
// subnet leaves it through a NAT gateway with one static public IP. That IP (output
// outboundIpAddress) is what the provider's SBCs and firewalls allow-list.
param vnetName string
param natGatewayName string
param publicIpName string
param location string
param tags object = {}

param addressPrefix string = '10.40.0.0/16'
@description('Subnet delegated to Flex Consumption (Microsoft.App/environments); one app per subnet.')
param appSubnetPrefix string = '10.40.1.0/24'
@description('Subnet for the private endpoints of storage and Key Vault (when enabled).')
param privateEndpointSubnetPrefix string = '10.40.2.0/24'

resource publicIp 'Microsoft.Network/publicIPAddresses@2023-11-01' = {
  name: publicIpName
  location: location
  tags: tags
  sku: { name: 'Standard', tier: 'Regional' }
  properties: {
    publicIPAllocationMethod: 'Static'
    publicIPAddressVersion: 'IPv4'
  }
}

resource natGateway 'Microsoft.Network/natGateways@2023-11-01' = {
  name: natGatewayName
  location: location
  tags: tags
  sku: { name: 'Standard' }
  properties: {
    idleTimeoutInMinutes: 4
    publicIpAddresses: [{ id: publicIp.id }]
  }
}

resource vnet 'Microsoft.Network/virtualNetworks@2023-11-01' = {
  name: vnetName
  location: location
  tags: tags
  properties: {
    addressSpace: { addressPrefixes: [addressPrefix] }
    subnets: [
      {
        name: 'app'
        properties: {
          addressPrefix: appSubnetPrefix
          natGateway: { id: natGateway.id }
          delegations: [
            {
              name: 'flex-consumption'
              properties: { serviceName: 'Microsoft.App/environments' }
            }
          ]
          privateEndpointNetworkPolicies: 'Disabled'
        }
      }
      {
        name: 'private-endpoints'
        properties: {
          addressPrefix: privateEndpointSubnetPrefix
          privateEndpointNetworkPolicies: 'Disabled'
        }
      }
    ]
  }
}

output vnetId string = vnet.id
output appSubnetId string = '${vnet.id}/subnets/app'
output privateEndpointSubnetId string = '${vnet.id}/subnets/private-endpoints'
output outboundIpAddress string = publicIp.properties.ipAddress
