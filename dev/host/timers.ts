import { randomUUID } from 'node:crypto';
import type { Timer } from '@azure/functions';
import { Cron } from 'croner';
import type { TimerTrigger } from '../../shared/triggers';
import { createInvocationContext, hostLog, type Log } from './context';

/**
 * Timer triggers on NCRONTAB schedules (six fields, seconds first, UTC). As with the Functions
 * host's singleton lock, one timer never runs twice at once: an occurrence that comes while the
 * previous run is still going is skipped, and the next run that does happen is marked `isPastDue`.
 * A run that starts more than `lateMs` after its time is past due too. A failed run is logged and
 * not retried.
 */
export interface Timers {
  /** Runs the timer now (after a run in progress, never beside it); rejects if the handler throws. */
  run(name: string): Promise<void>;
  has(name: string): boolean;
  /** Stops scheduling and waits for runs in progress. */
  stop(): Promise<void>;
}

const lateMs = 1000;
// What the host reports as `last` before a timer has ever run (.NET's DateTime.MinValue).
const neverRan = '0001-01-01T00:00:00.000Z';

interface TimerState {
  trigger: TimerTrigger;
  cron: Cron;
  last: Date | undefined;
  /** An occurrence was skipped because a run was still going. */
  missed: boolean;
  /** Runs queued or in progress. */
  busy: number;
  tail: Promise<void>;
  timeout: NodeJS.Timeout | undefined;
}

/** Throws, naming the trigger, when a schedule is not valid six-field NCRONTAB. */
export function parseSchedule(trigger: TimerTrigger): Cron {
  const fields = trigger.schedule.trim().split(/\s+/);
  if (fields.length !== 6) {
    throw new Error(
      `Timer trigger "${trigger.name}": schedule "${trigger.schedule}" must have six NCRONTAB fields ` +
        '({second} {minute} {hour} {day} {month} {day-of-week}), it has ' +
        fields.length,
    );
  }
  try {
    // NCRONTAB requires both day fields to match when both are restricted (croner's default is OR).
    return new Cron(trigger.schedule, { timezone: 'UTC', mode: '6-part', domAndDow: true, paused: true });
  } catch (e) {
    throw new Error(
      `Timer trigger "${trigger.name}": invalid NCRONTAB schedule "${trigger.schedule}": ${(e as Error).message}`,
    );
  }
}

export function startTimers(triggers: TimerTrigger[], log: Log, options: { enabled: boolean }): Timers {
  const states = new Map<string, TimerState>();
  for (const trigger of triggers) {
    states.set(trigger.name, {
      trigger,
      cron: parseSchedule(trigger),
      last: undefined,
      missed: false,
      busy: 0,
      tail: Promise.resolve(),
      timeout: undefined,
    });
  }
  let stopped = false;

  const enqueue = (state: TimerState, due: Date, isPastDue: boolean): Promise<void> => {
    state.busy++;
    const run = state.tail.then(() => invoke(state, due, isPastDue, log)).finally(() => state.busy--);
    state.tail = run.catch(() => undefined);
    return run;
  };

  /** Schedules the first occurrence strictly after `after`. */
  const arm = (state: TimerState, after: Date = new Date()): void => {
    const next = state.cron.nextRun(after);
    if (stopped || next === null) return;
    // setTimeout cannot wait longer than ~24.8 days; fire() re-arms when woken early.
    const delay = Math.min(Math.max(next.getTime() - Date.now(), 0), 2 ** 31 - 1);
    state.timeout = setTimeout(() => fire(state, next), delay);
  };

  const fire = (state: TimerState, due: Date): void => {
    if (stopped) return;
    // One reading of the clock decides both whether this occurrence is due and what comes next, so
    // an occurrence can neither run twice nor be skipped when the clock passes it in between.
    const now = Date.now();
    if (now < due.getTime()) {
      state.timeout = setTimeout(() => fire(state, due), due.getTime() - now);
      return;
    }
    arm(state, new Date(now));
    if (state.busy > 0) {
      state.missed = true;
      hostLog(log, 'warning', `Timer '${state.trigger.name}' skipped: the previous run is still going`, {
        function: state.trigger.name,
        scheduled: due.toISOString(),
      });
      return;
    }
    const isPastDue = state.missed || now - due.getTime() > lateMs;
    state.missed = false;
    enqueue(state, due, isPastDue).catch(() => undefined); // already logged; not retried
  };

  if (options.enabled) states.forEach((state) => arm(state));

  return {
    has: (name) => states.has(name),
    run: (name) => {
      const state = states.get(name);
      if (!state) return Promise.reject(new Error(`No timer trigger named "${name}"`));
      return enqueue(state, new Date(), false);
    },
    stop: async () => {
      stopped = true;
      for (const state of states.values()) clearTimeout(state.timeout);
      await Promise.all([...states.values()].map((s) => s.tail));
    },
  };
}

async function invoke(state: TimerState, due: Date, isPastDue: boolean, log: Log): Promise<void> {
  const { trigger } = state;
  const timer: Timer = {
    isPastDue,
    schedule: { adjustForDST: false },
    scheduleStatus: {
      last: state.last?.toISOString() ?? neverRan,
      next: state.cron.nextRun(due)?.toISOString() ?? '',
      lastUpdated: new Date().toISOString(),
    },
  };
  state.last = due;
  const invocationId = randomUUID();
  const context = createInvocationContext({
    functionName: trigger.name,
    invocationId,
    triggerType: 'timerTrigger',
    triggerMetadata: { timer },
    log,
  });
  const started = performance.now();
  const fields = { function: trigger.name, invocationId, isPastDue };
  try {
    await trigger.handler(timer, context);
    hostLog(log, 'information', `Executed '${trigger.name}' (Succeeded)`, {
      ...fields,
      ms: Math.round(performance.now() - started),
    });
  } catch (e) {
    hostLog(log, 'error', `Executed '${trigger.name}' (Failed)`, {
      ...fields,
      ms: Math.round(performance.now() - started),
      error: e instanceof Error ? (e.stack ?? e.message) : String(e),
    });
    throw e;
  }
}
