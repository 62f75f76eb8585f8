/**
 * The one log shape of the app: a JSON line `{ event, ...fields }` through the invocation's logger
 * (never the console), so Application Insights can query by `event`. Callers pass ids, types and
 * states, never a body, an address or a secret.
 */
export interface Log {
  info(event: string, fields?: Record<string, unknown>): void;
  warn(event: string, fields?: Record<string, unknown>): void;
  error(event: string, fields?: Record<string, unknown>): void;
}

interface Logger {
  log(...args: unknown[]): void;
  warn(...args: unknown[]): void;
  error(...args: unknown[]): void;
}

/** A log writing through an invocation context (or anything with log/warn/error), with fields every line carries. */
export function createLog(logger: Logger, base: Record<string, unknown> = {}): Log {
  const line = (event: string, fields: Record<string, unknown> = {}) =>
    JSON.stringify({ event, ...base, ...fields });
  return {
    info: (event, fields) => logger.log(line(event, fields)),
    warn: (event, fields) => logger.warn(line(event, fields)),
    error: (event, fields) => logger.error(line(event, fields)),
  };
}

export const silentLog: Log = { info: () => undefined, warn: () => undefined, error: () => undefined };

/** An error as one short line for a log field (its name and message; never a response body). */
export function errorText(e: unknown): string {
  return e instanceof Error ? `${e.name}: ${e.message}` : String(e);
}
