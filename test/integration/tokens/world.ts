import { driveSignIn } from '../../../dev/m365/driver';
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
    await services.customers.create(
      { id, name: `Token customer ${counter}`, adminEmail: admin.account },
      'test',
    );
    const sent = await services.invitations.send(id, 'test');
    const token = new URL(sent.url ?? 'https://missing.invalid/').pathname.split('/').pop() ?? '';
    const started = await services.consent.start(token);
    if (started.kind !== 'redirect') throw new Error(`start refused: ${JSON.stringify(started)}`);
    const walk = await driveSignIn(started.location, {
      account: admin.account,
      consentForOrganization: true,
    });
    const query = Object.fromEntries(new URL(walk.location ?? '').searchParams);
    const done = await services.consent.callback(query, started.browserKey);
    if (done.kind !== 'consented') throw new Error(`consent refused: ${JSON.stringify(done)}`);
    return id;
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
