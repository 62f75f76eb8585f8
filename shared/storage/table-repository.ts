import type { TableClient, TableEntity, TransactionAction } from '@azure/data-tables';
import type { z } from 'zod';
import { ConflictError, DependencyError, ValidationError } from '../errors';
import { describeRestError, restErrorInfo } from '../rest-error';

/**
 * A typed view of one table. Values are checked by a zod schema on the way in and out, nested
 * values are stored as JSON strings (Table Storage has only scalars), and every update carries the
 * ETag it read: a stale write becomes a ConflictError, never a silent overwrite.
 */
export interface Stored<T> {
  value: T;
  etag: string;
}

export interface Page<T> {
  items: Stored<T>[];
  continuationToken?: string;
}

export type TransactionStep<T> =
  | { op: 'create'; value: T }
  | { op: 'upsert'; value: T }
  | { op: 'update'; value: T; etag: string }
  | { op: 'delete'; partitionKey: string; rowKey: string; etag?: string };

export const MAX_TRANSACTION_OPERATIONS = 100;

export interface RepositoryDefinition<T> {
  /** What the rows are, in the provider's words: used in error messages. */
  entityName: string;
  schema: z.ZodType<T>;
  keys(value: T): { partitionKey: string; rowKey: string };
  /** Fields stored as JSON text. */
  jsonFields?: readonly (keyof T & string)[];
}

export class TableRepository<T extends object> {
  private ensured: Promise<void> | undefined;

  constructor(
    private readonly client: TableClient,
    private readonly def: RepositoryDefinition<T>,
  ) {}

  get tableName(): string {
    return this.client.tableName;
  }

  /** Creates the table once per process; cheap to call before every operation. */
  ensureTable(): Promise<void> {
    this.ensured ??= this.guard(() => this.client.createTable()).catch((e: unknown) => {
      this.ensured = undefined;
      throw e;
    });
    return this.ensured;
  }

  async get(partitionKey: string, rowKey: string): Promise<Stored<T> | undefined> {
    // A key Table Storage cannot hold names no row: not found, without asking (it would answer 400).
    if (!isValidKey(partitionKey) || !isValidKey(rowKey)) return undefined;
    await this.ensureTable();
    try {
      const entity = await this.guard(() => this.client.getEntity<TableEntity>(partitionKey, rowKey));
      return this.fromEntity(entity);
    } catch (e) {
      if (restErrorInfo(e)?.statusCode === 404) return undefined;
      throw e;
    }
  }

  /** Inserts; a row with the same keys already there is a ConflictError. */
  async create(value: T): Promise<Stored<T>> {
    await this.ensureTable();
    const entity = this.toEntity(value);
    try {
      const res = await this.guard(() => this.client.createEntity(entity));
      return { value: this.parse(value), etag: res.etag ?? '' };
    } catch (e) {
      if (restErrorInfo(e)?.statusCode === 409) {
        throw new ConflictError(`${this.def.entityName} '${entity.rowKey}' already exists.`, {
          partitionKey: entity.partitionKey,
          rowKey: entity.rowKey,
        });
      }
      throw e;
    }
  }

  /** Replaces the row only if it still has the ETag that was read. */
  async update(value: T, etag: string): Promise<Stored<T>> {
    await this.ensureTable();
    const entity = this.toEntity(value);
    try {
      const res = await this.guard(() => this.client.updateEntity(entity, 'Replace', { etag }));
      return { value: this.parse(value), etag: res.etag ?? '' };
    } catch (e) {
      throw this.staleOr(e, entity);
    }
  }

  /** Writes regardless of what is there: only for rows owned by one writer (checkpoints, caches). */
  async upsert(value: T): Promise<Stored<T>> {
    await this.ensureTable();
    const entity = this.toEntity(value);
    const res = await this.guard(() => this.client.upsertEntity(entity, 'Replace'));
    return { value: this.parse(value), etag: res.etag ?? '' };
  }

  async delete(partitionKey: string, rowKey: string, etag?: string): Promise<boolean> {
    if (!isValidKey(partitionKey) || !isValidKey(rowKey)) return false;
    await this.ensureTable();
    try {
      await this.guard(() => this.client.deleteEntity(partitionKey, rowKey, etag ? { etag } : {}));
      return true;
    } catch (e) {
      if (restErrorInfo(e)?.statusCode === 404) return false;
      throw this.staleOr(e, { partitionKey, rowKey });
    }
  }

  /**
   * Read-modify-write with the ETag, retried when another writer got there first. `change` returns
   * the new value, or undefined to leave the row as it is.
   */
  async mutate(
    partitionKey: string,
    rowKey: string,
    change: (current: T) => T | undefined,
    attempts = 5,
  ): Promise<Stored<T> | undefined> {
    for (let attempt = 1; ; attempt++) {
      const current = await this.get(partitionKey, rowKey);
      if (!current) return undefined;
      const next = change(current.value);
      if (next === undefined) return current;
      try {
        return await this.update(next, current.etag);
      } catch (e) {
        if (!(e instanceof ConflictError) || attempt >= attempts) throw e;
      }
    }
  }

  /** One page of rows, newest continuation token included when there are more. */
  async list(
    options: { partitionKey?: string; filter?: string; pageSize?: number; continuationToken?: string } = {},
  ): Promise<Page<T>> {
    if (options.continuationToken !== undefined) checkContinuationToken(options.continuationToken);
    await this.ensureTable();
    const filters = [
      options.partitionKey !== undefined
        ? `PartitionKey eq '${escapeOData(options.partitionKey)}'`
        : undefined,
      options.filter,
    ].filter((f): f is string => f !== undefined);
    const pages = this.client
      .listEntities<TableEntity>({ queryOptions: filters.length ? { filter: filters.join(' and ') } : {} })
      .byPage({ maxPageSize: options.pageSize ?? 100, continuationToken: options.continuationToken });
    let page: Awaited<ReturnType<typeof pages.next>>;
    try {
      page = await this.guard(() => pages.next());
    } catch (e) {
      // Storage refusing a well-formed token (keys it cannot hold) is still the caller's token.
      if (options.continuationToken !== undefined && restErrorInfo(e)?.statusCode === 400) {
        throw invalidToken();
      }
      throw e;
    }
    if (page.done) return { items: [] };
    const items = page.value.map((e) => this.fromEntity(e));
    const token = page.value.continuationToken;
    return token ? { items, continuationToken: token } : { items };
  }

  /** Every row matching, page by page. */
  async *listAll(options: { partitionKey?: string; filter?: string } = {}): AsyncGenerator<Stored<T>> {
    let continuationToken: string | undefined;
    do {
      const page = await this.list({ ...options, pageSize: 1000, continuationToken });
      yield* page.items;
      continuationToken = page.continuationToken;
    } while (continuationToken);
  }

  /** All-or-nothing writes within one partition, at most 100 operations (a Table Storage limit). */
  async transaction(steps: TransactionStep<T>[]): Promise<void> {
    if (steps.length === 0) return;
    if (steps.length > MAX_TRANSACTION_OPERATIONS) {
      throw new ValidationError(
        `A transaction holds at most ${MAX_TRANSACTION_OPERATIONS} operations; got ${steps.length}.`,
      );
    }
    const actions: TransactionAction[] = steps.map((s) => {
      switch (s.op) {
        case 'create':
          return ['create', this.toEntity(s.value)];
        case 'upsert':
          return ['upsert', this.toEntity(s.value), 'Replace'];
        case 'update':
          return ['update', this.toEntity(s.value), 'Replace', { etag: s.etag }];
        case 'delete':
          return [
            'delete',
            { partitionKey: s.partitionKey, rowKey: s.rowKey, ...(s.etag ? { etag: s.etag } : {}) },
          ];
      }
    });
    const partitions = new Set(actions.map((a) => a[1].partitionKey));
    if (partitions.size > 1) {
      throw new ValidationError('A transaction must stay within one partition.');
    }
    await this.ensureTable();
    try {
      await this.guard(() => this.client.submitTransaction(actions));
    } catch (e) {
      if ([409, 412, 404].includes(restErrorInfo(e)?.statusCode ?? 0)) {
        throw new ConflictError(
          `The ${this.def.entityName} changes conflicted with another write; nothing was changed.`,
        );
      }
      throw e;
    }
  }

  private toEntity(value: T): TableEntity {
    const parsed = this.parse(value);
    const keys = this.def.keys(parsed);
    if (!isValidKey(keys.partitionKey) || !isValidKey(keys.rowKey)) {
      throw new ValidationError(
        `Invalid ${this.def.entityName}: its key has characters storage cannot hold.`,
      );
    }
    const entity: Record<string, unknown> = { ...keys };
    const json = new Set<string>(this.def.jsonFields ?? []);
    for (const [k, v] of Object.entries(parsed)) {
      if (v === undefined || v === null) continue;
      entity[k] = json.has(k) ? JSON.stringify(v) : v;
    }
    return entity as TableEntity;
  }

  private fromEntity(entity: TableEntity & { etag?: string }): Stored<T> {
    const {
      partitionKey: _pk,
      rowKey: _rk,
      etag,
      timestamp: _ts,
      ...rest
    } = entity as Record<string, unknown>;
    const raw: Record<string, unknown> = {};
    const json = new Set<string>(this.def.jsonFields ?? []);
    for (const [k, v] of Object.entries(rest)) {
      if (k.startsWith('odata.')) continue;
      raw[k] = json.has(k) && typeof v === 'string' ? JSON.parse(v) : v;
    }
    return { value: this.def.schema.parse(raw), etag: String(etag ?? '') };
  }

  private parse(value: T): T {
    const result = this.def.schema.safeParse(value);
    if (!result.success) {
      throw new ValidationError(
        `Invalid ${this.def.entityName}.`,
        result.error.issues.map((i) => ({ field: i.path.join('.'), message: i.message })),
      );
    }
    return result.data;
  }

  private staleOr(e: unknown, keys: { partitionKey?: string; rowKey?: string }): unknown {
    if ([412, 404].includes(restErrorInfo(e)?.statusCode ?? 0)) {
      return new ConflictError(
        `${this.def.entityName} '${keys.rowKey ?? ''}' was changed by someone else; read it again and retry.`,
        { partitionKey: keys.partitionKey, rowKey: keys.rowKey },
      );
    }
    return e;
  }

  /**
   * A network failure or 5xx from storage is reported as the storage dependency being down. Anything
   * else (a 4xx, or an error that did not come from the wire) is thrown as it is: calling it an
   * outage would raise storage alarms for what is a bad request or a bug.
   */
  private async guard<R>(op: () => Promise<R>): Promise<R> {
    try {
      return await op();
    } catch (e) {
      if (!isUnavailable(e)) throw e;
      throw new DependencyError('storage', `table ${this.client.tableName}: ${describeRestError(e)}`, {
        cause: e,
      });
    }
  }
}

/** Whether storage was unreachable or failed (network error, timeout, 5xx), as opposed to refusing the request. */
function isUnavailable(e: unknown): boolean {
  const info = restErrorInfo(e);
  if (info) return info.statusCode === undefined || info.statusCode >= 500;
  if (typeof e !== 'object' || e === null) return false;
  const { name, code } = e as { name?: unknown; code?: unknown };
  return (
    name === 'AbortError' || name === 'TimeoutError' || (typeof code === 'string' && /^E[A-Z_]+$/.test(code))
  );
}

/**
 * What Table Storage accepts in PartitionKey and RowKey: at most 1 KiB, none of / \ # ? or control
 * characters (https://learn.microsoft.com/rest/api/storageservices/understanding-the-table-service-data-model).
 */
export function isValidKey(key: string): boolean {
  // eslint-disable-next-line no-control-regex -- control characters are exactly what storage refuses
  return key.length <= 512 && !/[/\\#?\u0000-\u001f\u007f-\u009f]/.test(key) && key.isWellFormed();
}

const invalidToken = () =>
  new ValidationError('The continuation token is not one this list gave out.', [
    { field: 'continuationToken', message: 'not a continuation token from this list' },
  ]);

/**
 * The SDK decodes a continuation token as base64 JSON `{nextPartitionKey, nextRowKey}` (each an
 * opaque marker the service gave out) and throws a plain SyntaxError on anything else; a caller's
 * garbled token is a 400, checked here before the SDK sees it. Markers with control characters
 * (never given out) are refused too; a well-formed marker storage does not like answers 400 itself.
 */
function checkContinuationToken(token: string): void {
  if (!/^[A-Za-z0-9+/_-]+={0,2}$/.test(token) || token.length > 4096) throw invalidToken();
  let decoded: unknown;
  try {
    decoded = JSON.parse(Buffer.from(token, 'base64').toString('utf8'));
  } catch {
    throw invalidToken();
  }
  if (typeof decoded !== 'object' || decoded === null || Array.isArray(decoded)) throw invalidToken();
  const { nextPartitionKey, nextRowKey } = decoded as Record<string, unknown>;
  const marker = (v: unknown) =>
    // eslint-disable-next-line no-control-regex -- control characters are exactly what is refused
    typeof v === 'string' && v.length <= 1024 && v.isWellFormed() && !/[\u0000-\u001f\u007f]/.test(v);
  if (!marker(nextPartitionKey)) throw invalidToken();
  if (nextRowKey !== undefined && !marker(nextRowKey)) throw invalidToken();
}

export function escapeOData(value: string): string {
  return value.replace(/'/g, "''");
}
