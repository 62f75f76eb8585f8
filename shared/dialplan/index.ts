import type { Clock } from '../clock';
import type { Config } from '../config';
import type { Jobs } from '../jobs';
import type { CustomerService } from '../onboarding/customers';
import type { PendingCleanups } from '../orders/cleanups';
import type { SecretStore } from '../secrets/vault';
import type { AuditLog } from '../storage/audit';
import type { StorageClients } from '../storage/clients';
import { createDialPlanRepositories, type DialPlanRepositories } from './repositories';
import { createDialPlanService, type DialPlanService } from './service';

export { SBC_MAILBOX } from './queues';
export type { DialPlanService, PushOutcome } from './service';

/** The dial-plan capability, wired: its tables, its SBC mailbox and worker, the API's services. */
export interface DialPlan extends DialPlanService {
  repos: DialPlanRepositories;
}

export function createDialPlan(deps: {
  config: Config['sbc'];
  storage: StorageClients;
  jobs: Jobs;
  secrets: SecretStore;
  audit: AuditLog;
  customers: CustomerService;
  cleanups: PendingCleanups;
  now: Clock;
}): DialPlan {
  const repos = createDialPlanRepositories(deps.storage, deps.jobs.due);
  return { ...createDialPlanService({ ...deps, repos }), repos };
}
