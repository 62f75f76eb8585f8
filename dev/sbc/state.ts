/**
 * What the simulated SBC knows besides its identity. The dial plans are the part Switchboard
 * changes (through CLI scripts pushed to `/api/v1/files/cliScript/incremental`, added later); a change
 * to the running configuration sets `saveNeeded`, as on the device, until it is saved.
 */
export interface DialPlanRule {
  /** Unique within its dial plan. */
  index: number;
  name: string;
  prefix: string;
  tag: string;
}

export interface DialPlan {
  index: number;
  name: string;
  rules: Map<number, DialPlanRule>;
}

export interface SbcState {
  startedAt: number;
  operationalState: 'UNLOCKED' | 'LOCKED';
  saveNeeded: boolean;
  resetNeeded: boolean;
  /** Keyed by dial-plan name. */
  dialPlans: Map<string, DialPlan>;
}

export function createSbcState(now = Date.now()): SbcState {
  return {
    startedAt: now,
    operationalState: 'UNLOCKED',
    saveNeeded: false,
    resetNeeded: false,
    dialPlans: new Map(),
  };
}
