/**
 * The settings of a plausible Azure deployment: enough for the app to load and register its
 * triggers outside Azure (tests of the registration and the bundle, the cold-start benchmark).
 * Nothing is reached through them.
 */
export const sampleAzureSettings: Readonly<Record<string, string>> = {
  AzureWebJobsStorage: 'UseDevelopmentStorage=true',
  KEY_VAULT_URL: 'https://kv.vault.azure.net',
  EMAIL_ENDPOINT: 'https://acs.communication.azure.com',
  EMAIL_SENDER_ADDRESS: 'DoNotReply@mail.provider.example',
  APP_CLIENT_ID: '00001111-aaaa-2222-bbbb-3333cccc4444',
  PUBLIC_BASE_URL: 'https://portal.provider.example',
};
