import type { TableClient } from '@azure/data-tables';
import { addSeconds, type Clock } from '../clock';
import { ConflictError } from '../errors';
import type { Log } from '../log';
import { TableRepository, type RepositoryDefinition, type Stored } from '../storage/table-repository';
import type { DueIndex } from './due';

/**
 * A capability's table of work items (order events, callbacks, …): rows with a `dueAt`, the time by
 * which something must have happened to them. Every write that sets a new `dueAt` first writes the
 * due index entry, so the sweep finds the item without scanning this table; an entry written for a
 * write that then failed is harmless (the sweep sees the row is not due and drops it). Finished rows
 * are deleted after their retention through the same index.
 */
export interface WorkFields {
  dueAt?: string | undefined;
}

export class WorkTable<T extends WorkFields & object> extends TableRepository<T> {
  /** Due times this process has indexed already, so a row's other updates do not rewrite its entry. */
  private readonly marked = new Map<string, string>();

  constructor(
    client: TableClient,
    private readonly definition: RepositoryDefinition<T>,
    private readonly index: DueIndex,
    /** The kind of work, as the sweep's handlers know it (`orders.event`). */
    readonly kind: string,
  ) {
    super(client, definition);
  }

  override async create(value: T): Promise<Stored<T>> {
    await this.markDue(value);
    return super.create(value);
  }

  override async update(value: T, etag: string): Promise<Stored<T>> {
    await this.markDue(value);
    return super.update(value, etag);
  }

  override async upsert(value: T): Promise<Stored<T>> {
    await this.markDue(value);
    return super.upsert(value);
  }

  /**
   * What the sweep does with a row past its `dueAt`: if it is still open and still due at that time,
   * `bump` moves `dueAt` on (with the ETag, so of two sweeps only one wins) and `send` queues it again.
   */
  requeueWhenDue(options: {
    isOpen: (row: T) => boolean;
    bump: (row: T) => T;
    send: (row: T) => Promise<void>;
    log: (row: T, log: Log) => void;
  }): void {
    this.index.on(this.kind, async ({ partitionKey, rowKey, dueAt }, log) => {
      const bumped = await this.mutate(partitionKey, rowKey, (r) =>
        options.isOpen(r) && r.dueAt === dueAt ? options.bump(r) : undefined,
      );
      if (!bumped || bumped.value.dueAt === dueAt || !options.isOpen(bumped.value)) return 'done';
      await options.send(bumped.value);
      options.log(bumped.value, log);
      return 'requeued';
    });
  }

  /** Deletes finished rows once they are `retentionDays` old (see `retain`). */
  purgeWhenFinished(isFinished: (row: T) => boolean): void {
    this.index.on(`${this.kind}:purge`, async ({ partitionKey, rowKey }) => {
      const row = await this.get(partitionKey, rowKey);
      if (!row || !isFinished(row.value)) return 'done';
      await this.delete(partitionKey, rowKey, row.etag).catch((e: unknown) => {
        if (!(e instanceof ConflictError)) throw e;
      });
      return 'done';
    });
  }

  /** Schedules a finished row's deletion, `days` from now. */
  async retain(value: T, days: number, now: Clock): Promise<void> {
    await this.index.mark(
      `${this.kind}:purge`,
      this.definition.keys(value),
      addSeconds(now(), days * 86_400),
    );
  }

  private async markDue(value: T): Promise<void> {
    if (value.dueAt === undefined) return;
    const keys = this.definition.keys(value);
    const id = `${keys.partitionKey}|${keys.rowKey}`;
    if (this.marked.get(id) === value.dueAt) return;
    await this.index.mark(this.kind, keys, value.dueAt);
    if (this.marked.size >= 10_000) this.marked.clear();
    this.marked.set(id, value.dueAt);
  }
}
