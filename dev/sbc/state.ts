/**
 * What the simulated SBC knows besides its identity: the part of the running configuration that
 * Switchboard changes through CLI scripts (IP groups, SIP accounts, dial plans and their rules), and
 * the knobs tests turn to make the device busy, slow or unreachable. A change to the running
 * configuration sets `saveNeeded`, as on the device, until it is saved (`do write`).
 */
export interface DialPlanRule {
  /** Unique within its dial plan; the device gives the lowest free one. */
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

/** An IP group or a SIP account: its index and its fields as the CLI set them. */
export interface Entry {
  index: number;
  fields: Map<string, string>;
}

export interface SbcState {
  startedAt: number;
  operationalState: 'UNLOCKED' | 'LOCKED';
  saveNeeded: boolean;
  resetNeeded: boolean;
  /** Keyed by dial-plan name. */
  dialPlans: Map<string, DialPlan>;
  ipGroups: Entry[];
  sipAccounts: Entry[];
  /** Answer 409 to every script upload (as during an HA sync). */
  busy: boolean;
  /** Drop every connection without an answer. */
  unreachable: boolean;
  /** Wait this long before answering. */
  delayMs: number;
  /** Every script upload that reached the device, in order (what was sent and how it was answered). */
  uploads: { script: string; status: number; at: number }[];
  /** Times the configuration was saved. */
  saves: number;
  /** Script uploads being applied right now, and the most there ever were at once. */
  uploadsInFlight: number;
  maxUploadsInFlight: number;
}

export function createSbcState(now = Date.now()): SbcState {
  return {
    startedAt: now,
    operationalState: 'UNLOCKED',
    saveNeeded: false,
    resetNeeded: false,
    dialPlans: new Map(),
    ipGroups: [],
    sipAccounts: [],
    busy: false,
    unreachable: false,
    delayMs: 0,
    uploads: [],
    saves: 0,
    uploadsInFlight: 0,
    maxUploadsInFlight: 0,
  };
}

/** Adds an empty dial plan (the provider creates its dial plans once, before any customer). */
export function addDialPlan(state: SbcState, name: string): DialPlan {
  const existing = state.dialPlans.get(name);
  if (existing) return existing;
  const plan: DialPlan = {
    index: lowestFree([...state.dialPlans.values()].map((p) => p.index)),
    name,
    rules: new Map(),
  };
  state.dialPlans.set(name, plan);
  return plan;
}

export function lowestFree(used: number[]): number {
  const taken = new Set(used);
  let i = 0;
  while (taken.has(i)) i++;
  return i;
}
