import { odata } from '@azure/data-tables';
import type { Clock } from '../clock';
import { ConflictError } from '../errors';
import { errorText, type Log } from '../log';
import type { DueEntry } from './model';
import { dueRowKey, STATE_PARTITION, type JobRepositories } from './repositories';
import { bucketsBetween, dueBucket } from './rules';

/**
 * The index of due work. Whenever a work item gets a due time (the time by which something must have
 * happened to it), an entry is written here first; the sweep reads only the hour partitions between
 * its cursor and now, so it never scans a capability's table however large it grows. An entry whose
 * item has moved on is dropped when reached: entries are hints, the item's row is the truth.
 */
export type DueOutcome = 'requeued' | 'done';

/** What the sweep does with a due entry of one kind: look at the item, act if it is still due. */
export type DueHandler = (
  entry: { partitionKey: string; rowKey: string; dueAt: string },
  log: Log,
) => Promise<DueOutcome>;

export interface DueIndex {
  mark(kind: string, keys: { partitionKey: string; rowKey: string }, dueAt: string): Promise<void>;
  /** Registers what the sweep does for a kind of work. */
  on(kind: string, handler: DueHandler): void;
  sweep(log: Log, options?: { maxEntries?: number }): Promise<SweepResult>;
}

export interface SweepResult {
  /** Entries acted on (their items were queued again), by kind. */
  requeued: Record<string, number>;
  /** Entries read (each a single-partition range query away). */
  examined: number;
  /** Hour partitions queried. */
  partitions: number;
}

/** On a fresh deployment the sweep starts this far back (nothing is due earlier than its first write). */
const FIRST_LOOK_BACK_HOURS = 24;
const DEFAULT_MAX_PER_RUN = 500;
/** How long after an hour ends the sweep stops reading it. */
const SETTLE_MS = 5 * 60_000;
/** A failed entry's next look. */
const RETRY_FAILED_MS = 5 * 60_000;

export function createDueIndex(deps: { repos: JobRepositories; now: Clock }): DueIndex {
  const { due, sweepCursor } = deps.repos;
  const handlers = new Map<string, DueHandler>();

  const readCursor = async (now: Date) => {
    const row = await sweepCursor.get(STATE_PARTITION, 'sweep');
    return row?.value.bucket ?? dueBucket(new Date(now.getTime() - FIRST_LOOK_BACK_HOURS * 3_600_000));
  };

  const writeCursor = async (bucket: string) => {
    await sweepCursor.upsert({ name: 'sweep', bucket, updatedAt: deps.now().toISOString() });
  };

  const mark: DueIndex['mark'] = async (kind, keys, dueAt) => {
    const entry: DueEntry = {
      bucket: dueBucket(dueAt),
      dueAt,
      kind,
      itemPartition: keys.partitionKey,
      itemRow: keys.rowKey,
    };
    await due.upsert(entry);
  };

  return {
    mark,

    on(kind, handler) {
      handlers.set(kind, handler);
    },

    async sweep(log, options = {}) {
      const max = options.maxEntries ?? DEFAULT_MAX_PER_RUN;
      const now = deps.now();
      const nowIso = now.toISOString();
      const current = dueBucket(now);
      // An hour is left behind only a while after it ended, so an instance whose clock runs a little
      // behind can still add entries to it (every due time is at least a minute ahead when written).
      const settled = dueBucket(new Date(now.getTime() - SETTLE_MS));
      const result: SweepResult = { requeued: {}, examined: 0, partitions: 0 };
      let cursor = await readCursor(now);
      for (const bucket of bucketsBetween(cursor, current)) {
        result.partitions++;
        let clean = true;
        for await (const row of due.listAll({ partitionKey: bucket, filter: odata`RowKey lt ${nowIso}` })) {
          if (result.examined >= max) return result;
          result.examined++;
          const entry = row.value;
          const handler = handlers.get(entry.kind);
          const item = { partitionKey: entry.itemPartition, rowKey: entry.itemRow };
          try {
            if (!handler) {
              // A kind this version does not know (a retired one, or a newer deployment's): left alone,
              // without holding the cursor back.
              log.warn('due_entry_unknown_kind', { kind: entry.kind });
              continue;
            }
            const outcome = await handler({ ...item, dueAt: entry.dueAt }, log);
            if (outcome === 'requeued') result.requeued[entry.kind] = (result.requeued[entry.kind] ?? 0) + 1;
          } catch (e) {
            // Tried again in a few minutes, from a fresh entry, so one bad item cannot hold the cursor.
            log.error('due_entry_failed', { kind: entry.kind, item: entry.itemRow, error: errorText(e) });
            try {
              await mark(entry.kind, item, new Date(now.getTime() + RETRY_FAILED_MS).toISOString());
            } catch {
              clean = false;
              continue;
            }
          }
          try {
            await due.delete(bucket, dueRowKey(entry), row.etag);
          } catch (e) {
            if (!(e instanceof ConflictError)) clean = false;
          }
        }
        // A past hour with nothing left behind is never read again.
        if (bucket < settled && clean && bucket === cursor) {
          const next = bucketsBetween(bucket, current, 2)[1];
          if (next) {
            cursor = next;
            await writeCursor(next);
          }
        }
      }
      return result;
    },
  };
}
