/**
 * Structured log lines for the orders pipeline, through the invocation's logger (never the
 * console). Callers pass ids, types and states, never a body, an address or a secret.
 */
export interface OrdersLog {
  info(event: string, fields?: Record<string, unknown>): void;
  warn(event: string, fields?: Record<string, unknown>): void;
  error(event: string, fields?: Record<string, unknown>): void;
}

interface Logger {
  log(...args: unknown[]): void;
  warn(...args: unknown[]): void;
  error(...args: unknown[]): void;
}

export function ordersLog(logger: Logger): OrdersLog {
  const line = (event: string, fields: Record<string, unknown> = {}) => JSON.stringify({ event, ...fields });
  return {
    info: (event, fields) => logger.log(line(event, fields)),
    warn: (event, fields) => logger.warn(line(event, fields)),
    error: (event, fields) => logger.error(line(event, fields)),
  };
}

export const silentLog: OrdersLog = { info: () => undefined, warn: () => undefined, error: () => undefined };

export function errorText(e: unknown): string {
  return e instanceof Error ? `${e.name}: ${e.message}` : String(e);
}
