import { consentedCustomer } from '../../helpers/consent';
import { seedIds } from '../../../dev/m365/seed';
import { startLocalStack, type LocalStack } from '../../../dev/stack';
import { loadConfig } from '../../../shared/config';
import { createServices, type Services } from '../../../shared/services';
import { uniquePrefix } from '../../helpers/stack';

/**
 * Token health against the real pieces: Azurite, the simulated Key Vault and a private simulated
 * Microsoft (its failures are the test file's to impose). Customers consent through onboarding's own
 * service and the simulated sign-in pages, so the refresh token starts where production puts it.
 */
export const admins = {
  contoso: { account: 'patti@contoso.com', tenantId: seedIds.contoso.tenantId },
  fabrikam: { account: 'isaiah@fabrikam.com', tenantId: seedIds.fabrikam.tenantId },
  northwind: { account: 'nestor@northwindtraders.com', tenantId: seedIds.northwind.tenantId },
};
export type Admin = (typeof admins)[keyof typeof admins];

export interface TokenWorld {
  stack: LocalStack;
  services: Services;
  settings: Record<string, string>;
  /** The customer whose admin consented in this tenant (once per tenant: a tenant belongs to one customer). */
  consentedCustomer(admin: Admin): Promise<string>;
  stop(): Promise<void>;
}

export async function startTokenWorld(overrides: Record<string, string> = {}): Promise<TokenWorld> {
  const stack = await startLocalStack({ ports: 'free', quiet: true });
  const settings: Record<string, string> = {
    ...stack.settings,
    STORAGE_NAME_PREFIX: uniquePrefix(),
    ...overrides,
  };
  process.env.IDENTITY_ENDPOINT = settings.IDENTITY_ENDPOINT;
  process.env.IDENTITY_HEADER = settings.IDENTITY_HEADER;
  const services = createServices(loadConfig(settings));
  let counter = 0;
  const consented = new Map<string, Promise<string>>();

  const consent = async (admin: Admin): Promise<string> => {
    const id = `tok-${Date.now().toString(36)}-${++counter}`;
    return consentedCustomer(services, { id, name: `Token customer ${counter}`, adminEmail: admin.account });
  };

  return {
    stack,
    services,
    settings,
    consentedCustomer(admin) {
      let id = consented.get(admin.tenantId);
      if (!id) {
        id = consent(admin);
        consented.set(admin.tenantId, id);
      }
      return id;
    },
    stop: () => stack.stop(),
  };
}
