import { errorText, type Log } from '../log';

/**
 * A timer's fan-out: one message per item (customer, tenant, SBC), read page by page so memory
 * stays flat however many there are, with at most `concurrency` sends in flight. An item whose send
 * fails is counted and logged; the rest still go (the next run, or the sweep, catches up).
 */
export interface FanOutResult {
  sent: number;
  skipped: number;
  failed: number;
  /** Why items were skipped, counted by reason (`suspended`, `needs_consent` …). */
  skippedBy: Record<string, number>;
}

export async function fanOut<T>(options: {
  pages: AsyncIterable<T[]>;
  /** Returns a reason to skip the item, or undefined to send. */
  skip?: (item: T) => string | undefined;
  send: (item: T) => Promise<void>;
  concurrency?: number;
  log: Log;
  describe?: (item: T) => Record<string, unknown>;
}): Promise<FanOutResult> {
  const limit = options.concurrency ?? 16;
  const result: FanOutResult = { sent: 0, skipped: 0, failed: 0, skippedBy: {} };
  const inFlight = new Set<Promise<void>>();
  for await (const page of options.pages) {
    for (const item of page) {
      const reason = options.skip?.(item);
      if (reason) {
        result.skipped++;
        result.skippedBy[reason] = (result.skippedBy[reason] ?? 0) + 1;
        continue;
      }
      const p: Promise<void> = options
        .send(item)
        .then(() => {
          result.sent++;
        })
        .catch((e: unknown) => {
          result.failed++;
          options.log.warn('fan_out_send_failed', { ...options.describe?.(item), error: errorText(e) });
        })
        .finally(() => inFlight.delete(p));
      inFlight.add(p);
      if (inFlight.size >= limit) await Promise.race(inFlight);
    }
  }
  await Promise.all(inFlight);
  return result;
}

/** The pages of a paged list (each a single-partition range read), one at a time, until the last. */
export async function* pagesOf<T>(
  list: (
    continuationToken: string | undefined,
  ) => Promise<{ items: T[]; continuationToken?: string | undefined }>,
): AsyncGenerator<T[]> {
  let token: string | undefined;
  do {
    const page = await list(token);
    yield page.items;
    token = page.continuationToken;
  } while (token);
}
