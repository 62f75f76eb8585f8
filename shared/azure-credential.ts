import { ManagedIdentityCredential, type TokenCredential } from '@azure/identity';

/**
 * The app reaches Azure services (Key Vault, storage by identity, Communication Services) with its
 * managed identity, in Azure and locally alike: the local stack serves the App Service managed
 * identity endpoint (IDENTITY_ENDPOINT / IDENTITY_HEADER), so this is the only code path.
 */
export function createAzureCredential(clientId: string | undefined): TokenCredential {
  return clientId ? new ManagedIdentityCredential({ clientId }) : new ManagedIdentityCredential();
}
