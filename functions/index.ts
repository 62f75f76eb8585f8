import type { Trigger } from '../shared/triggers';
import { dialplanTriggers } from './dialplan';
import { jobsTriggers } from './jobs';
import { onboardingTriggers } from './onboarding';
import { opsTriggers } from './ops';
import { ordersTriggers } from './orders';
import { outboxTriggers } from './outbox';
import { tokensTriggers } from './tokens';
import { replicationTriggers } from './replication';

/**
 * Every trigger of the app, in one list joined from each capability's folder. `main.ts` registers
 * them with Azure; the local host in `dev/host` serves the same list.
 */
export const triggers: Trigger[] = [
  ...opsTriggers,
  ...onboardingTriggers,
  ...ordersTriggers,
  ...tokensTriggers,
  ...outboxTriggers,
  ...jobsTriggers,
  ...replicationTriggers,
  ...dialplanTriggers,
];
