import { randomUUID } from 'node:crypto';
import { format } from 'node:util';
import { InvocationContext, type LogLevel, type TriggerMetadata } from '@azure/functions';

/** One structured log line; the host never writes free text. */
export type LogLine = Record<string, unknown>;
export type Log = (line: LogLine) => void;

export const stdoutLog: Log = (line) => {
  process.stdout.write(`${JSON.stringify(line)}\n`);
};

export type HostLevel = 'debug' | 'information' | 'warning' | 'error';

/** A line from the host itself (not from a function): `{ time, level, message, ...fields }`. */
export function hostLog(log: Log, level: HostLevel, message: string, fields: LogLine = {}): void {
  log({ time: new Date().toISOString(), level, message, ...fields });
}

export interface ContextInit {
  functionName: string;
  triggerType: 'httpTrigger' | 'timerTrigger' | 'queueTrigger';
  triggerMetadata: TriggerMetadata;
  log: Log;
  invocationId?: string;
}

/**
 * A real InvocationContext whose `context.log/warn/error…` become structured lines tagged with the
 * function and invocation id, so one invocation's lines can be found among concurrent ones.
 */
export function createInvocationContext(init: ContextInit): InvocationContext {
  const invocationId = init.invocationId ?? randomUUID();
  return new InvocationContext({
    invocationId,
    functionName: init.functionName,
    triggerMetadata: init.triggerMetadata,
    // The real library names bindings by a hash; only the type is meaningful to a handler.
    options: { trigger: { type: init.triggerType, name: init.triggerType } },
    logHandler: (level: LogLevel, ...args: unknown[]) => {
      if (level === 'none') return;
      init.log({
        time: new Date().toISOString(),
        level,
        function: init.functionName,
        invocationId,
        message: format(...args),
      });
    },
  });
}
