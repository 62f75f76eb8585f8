/**
 * The one clock. Services take `now` from here (or a test's own), so time-driven rules (due times,
 * leases, expiries) can be tested by moving time instead of waiting for it.
 */
export type Clock = () => Date;

export const systemClock: Clock = () => new Date();

export const addSeconds = (at: Date, seconds: number): string =>
  new Date(at.getTime() + seconds * 1000).toISOString();
