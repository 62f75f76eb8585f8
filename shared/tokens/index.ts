import type { Config } from '../config';
import type { TokenClient } from '../identity/token-client';
import type { CustomerService } from '../onboarding/customers';
import type { SecretStore } from '../secrets/vault';
import type { StorageClients } from '../storage/clients';
import { createTokenRepositories, type TokenRepositories } from './repositories';
import { createTokenService, type TokenLog, type TokenService } from './service';

/**
 * Token health, the capability: redeem a customer's token (`redeem`), verify one customer
 * (`verify`), and read what verifications found (`get`, `list`). See README.md for its table and the
 * triggers still to be wired on the jobs platform.
 */
export type { TokenHealth } from './model';
export type { TokenRepositories } from './repositories';
export {
  classifyTokenFailure,
  missingScopes,
  nextHealth,
  parseRetryAfter,
  vaultWriteDue,
  type ClassifiedFailure,
  type FailureClass,
  type TokenStatus,
} from './rules';
export { TokenUnavailableError, type CustomerAccess, type TokenLog, type TokenService } from './service';
export {
  authenticationStatusLine,
  viewTokenHealth,
  type AuthenticationStatusLine,
  type TokenHealthView,
} from './views';

export interface TokenHealthModule {
  repos: TokenRepositories;
  service: TokenService;
}

export function createTokenHealth(deps: {
  config: Config;
  storage: StorageClients;
  customers: Pick<CustomerService, 'find'>;
  secrets: SecretStore;
  tokens: TokenClient;
  log?: TokenLog;
  now?: () => Date;
}): TokenHealthModule {
  const repos = createTokenRepositories(deps.storage);
  const service = createTokenService({
    repos,
    customers: deps.customers,
    secrets: deps.secrets,
    tokens: deps.tokens,
    graphBaseUrl: deps.config.graph.baseUrl,
    ...(deps.log ? { log: deps.log } : {}),
    ...(deps.now ? { now: deps.now } : {}),
  });
  return { repos, service };
}
