import { randomUUID } from 'node:crypto';
import { z } from 'zod';
import type { Clock } from '../clock';
import { NotFoundError } from '../errors';
import type { StorageClients } from '../storage/clients';
import { TableRepository } from '../storage/table-repository';
import { tableKey } from './rules';

/**
 * A run of fanned-out work an operator asked for (verify every customer's token now): one partition
 * per run, a header row and one row per item as each finishes, so progress is a single-partition read
 * and workers never contend for one counter row.
 */
const runRowSchema = z.object({
  runId: z.string(),
  item: z.string(),
  kind: z.string(),
  /** Header: how many items were sent (set once the fan-out is done), who asked, when. */
  total: z.number().int().optional(),
  startedAt: z.string().optional(),
  by: z.string().optional(),
  /** Item: how it ended. */
  outcome: z.string().optional(),
  at: z.string(),
});
type RunRow = z.infer<typeof runRowSchema>;

const HEADER = '~run';

export interface RunView {
  id: string;
  kind: string;
  startedAt: string;
  by: string;
  /** Items sent; null while the fan-out is still sending. */
  total: number | null;
  done: number;
  outcomes: Record<string, number>;
  finished: boolean;
}

export interface Runs {
  start(kind: string, by: string): Promise<string>;
  setTotal(runId: string, total: number): Promise<void>;
  record(runId: string, item: string, outcome: string): Promise<void>;
  get(runId: string): Promise<RunView>;
}

export function createRuns(deps: { storage: StorageClients; now: Clock }): Runs {
  const repo = new TableRepository(deps.storage.table('jobruns'), {
    entityName: 'job run',
    schema: runRowSchema,
    keys: (r: RunRow) => ({
      partitionKey: r.runId,
      rowKey: r.item === HEADER ? HEADER : `i|${tableKey(r.item)}`,
    }),
  });
  const header = async (runId: string) => {
    if (!/^run_[a-f0-9]{32}$/.test(runId)) throw new NotFoundError('Job', runId);
    const row = await repo.get(runId, HEADER);
    if (!row) throw new NotFoundError('Job', runId);
    return row;
  };
  return {
    async start(kind, by) {
      const runId = `run_${randomUUID().replace(/-/g, '')}`;
      const at = deps.now().toISOString();
      await repo.create({ runId, item: HEADER, kind, startedAt: at, by, at });
      return runId;
    },
    async setTotal(runId, total) {
      await repo.mutate(runId, HEADER, (h) => ({ ...h, total, at: deps.now().toISOString() }));
    },
    async record(runId, item, outcome) {
      const h = await header(runId);
      await repo.upsert({ runId, item, kind: h.value.kind, outcome, at: deps.now().toISOString() });
    },
    async get(runId) {
      const h = (await header(runId)).value;
      const outcomes: Record<string, number> = {};
      let done = 0;
      for await (const row of repo.listAll({ partitionKey: runId })) {
        if (row.value.item === HEADER || !row.value.outcome) continue;
        done++;
        outcomes[row.value.outcome] = (outcomes[row.value.outcome] ?? 0) + 1;
      }
      const total = h.total ?? null;
      return {
        id: runId,
        kind: h.kind,
        startedAt: h.startedAt ?? h.at,
        by: h.by ?? 'operator',
        total,
        done,
        outcomes,
        finished: total !== null && done >= total,
      };
    },
  };
}
