import { odata } from '@azure/data-tables';
import type { Clock } from '../../clock';
import { MAX_TRANSACTION_OPERATIONS, type Stored } from '../../storage/table-repository';
import { partitionOf } from '../repositories';
import type { GraphWriter } from './graph-writes';
import type { ChangeRow, ItemResult } from './model';
import type { ChangeRepositories } from './repositories';
import {
  graphError,
  isDue,
  isFinal,
  MAX_ATTEMPTS,
  outcomeOf,
  planBatches,
  requestOf,
  resultOf,
  type BatchPlan,
  type ItemAnswer,
  type ItemOutcome,
} from './rules';

/**
 * One push of one tenant's due changes, run only by the holder of the tenant's mailbox lease (so only
 * one runs per tenant, and change rows are written by nobody else meanwhile). Every change is marked
 * `pushing` (attempt + 1) before its Graph request; its result is written after. Profile writes go
 * before licence writes, each in fully parallel batches. PATCH sets values, so repeating one whose
 * result was lost does no harm; a licence change first drops what the user's `assignedLicenses` show
 * done (see licencesLeft); a number assignment in `pushing` is looked up in `numberAssignments` first,
 * and while its POST is recent (REPOST_AFTER_MS) and nothing is listed it is looked at again later
 * rather than posted again: a number is posted twice only when the first POST left no trace at
 * Microsoft for that long (then it was lost).
 */
export interface PushSummary {
  pushed: number;
  succeeded: number;
  failed: number;
  throttled: number;
  polling: number;
  batches: number;
  /** The changes that reached a final state in this push, for the audit. */
  finished: ChangeRow[];
}

const NUMBERS = '/admin/teams/telephoneNumberManagement/numberAssignments';
/** How soon an accepted number assignment's operation is looked at again. */
export const POLL_SECONDS = 10;
const RETRY_SECONDS = 60;
/**
 * A number in `pushing` that Microsoft does not list yet is looked at again, not posted again, for
 * this long after its POST: an accepted assignment is absent from `numberAssignments` while its
 * operation has not started. Past it with still nothing listed, the POST is taken as lost and made again.
 */
export const REPOST_AFTER_MS = 10 * 60_000;
/** A number assignment not finished this long after its first POST fails (`assignment_timeout`). */
export const ASSIGNMENT_DEADLINE_MS = 30 * 60_000;

export function createPush(deps: {
  repos: ChangeRepositories;
  writer: GraphWriter;
  now: Clock;
  /**
   * Told of changes that reached a final state before they are saved so (keyed by change and status,
   * so the repeat after a crash between the two records nothing new).
   */
  finished?: (rows: ChangeRow[]) => Promise<void>;
}) {
  const { changes } = deps.repos;
  const at = () => deps.now().toISOString();
  const later = (ms: number) => new Date(deps.now().getTime() + ms).toISOString();

  async function readOpen(customerId: string): Promise<Stored<ChangeRow>[]> {
    const filter = odata`status ne ${'succeeded'} and status ne ${'failed'}`;
    const out: Stored<ChangeRow>[] = [];
    for await (const r of changes.listAll({ partitionKey: partitionOf(customerId), filter })) out.push(r);
    return out.sort((a, b) => a.value.id.localeCompare(b.value.id));
  }

  async function finishing(rows: ChangeRow[]): Promise<void> {
    const final = rows.filter((r) => isFinal(r.status));
    if (final.length > 0 && deps.finished) await deps.finished(final);
  }

  /** One change's new state: a final one is told first (see `finished`). */
  async function store(next: ChangeRow, etag: string): Promise<Stored<ChangeRow>> {
    await finishing([next]);
    return changes.update(next, etag);
  }

  /** Writes rows of one tenant in transactions (the lease holder is their only writer). */
  async function save(rows: ChangeRow[], op: 'upsert'): Promise<void>;
  async function save(rows: Stored<ChangeRow>[], op: 'update'): Promise<void>;
  async function save(rows: (ChangeRow | Stored<ChangeRow>)[], op: 'upsert' | 'update'): Promise<void> {
    for (let i = 0; i < rows.length; i += MAX_TRANSACTION_OPERATIONS) {
      const chunk = rows.slice(i, i + MAX_TRANSACTION_OPERATIONS);
      await changes.transaction(
        chunk.map((r) =>
          op === 'update'
            ? {
                op: 'update' as const,
                value: (r as Stored<ChangeRow>).value,
                etag: (r as Stored<ChangeRow>).etag,
              }
            : { op: 'upsert' as const, value: r as ChangeRow },
        ),
      );
    }
  }

  /** A change after one answer. */
  function apply(row: ChangeRow, outcome: ItemOutcome, result: ItemResult): ChangeRow {
    const base = { ...row, result, updatedAt: result.at };
    switch (outcome.status) {
      case 'succeeded':
        return { ...base, status: 'succeeded', finishedAt: result.at };
      case 'throttled':
        return { ...base, status: 'throttled', notBefore: later(outcome.retryAfterMs) };
      case 'retry':
        return row.attempts >= MAX_ATTEMPTS
          ? { ...base, status: 'failed', finishedAt: result.at }
          : { ...base, status: 'queued', notBefore: later(RETRY_SECONDS * 1000 * row.attempts) };
      case 'failed':
        return { ...base, status: 'failed', finishedAt: result.at };
    }
  }

  /** Marks rows `pushing`, sends them in fully parallel `$batch` requests, keeps each answer. */
  async function phase(
    token: string,
    rows: Stored<ChangeRow>[],
    s: PushSummary,
    /** Before a request goes: what is left of it to send, and the changes found settled already. */
    prepare?: (plan: BatchPlan, s: PushSummary) => Promise<{ plan: BatchPlan; settled: ChangeRow[] }>,
  ): Promise<ChangeRow[]> {
    if (rows.length === 0) return [];
    // The attempt is on record before anything reaches Microsoft.
    const marked = rows.map((r) => ({
      ...r.value,
      status: 'pushing' as const,
      attempts: r.value.attempts + 1,
      // Due again at once if this push dies before its answers are written.
      notBefore: at(),
      updatedAt: at(),
    }));
    await save(
      marked.map((value, i) => ({ value, etag: rows[i]!.etag })),
      'update',
    );
    const out: ChangeRow[] = [];
    for (const planned of planBatches(marked)) {
      let p = planned;
      if (prepare) {
        const ready = await prepare(planned, s);
        p = ready.plan;
        if (ready.settled.length > 0) {
          await finishing(ready.settled);
          await save(ready.settled, 'upsert');
          for (const r of ready.settled) count(s, r);
          out.push(...ready.settled);
        }
        if (p.items.length === 0) continue;
      }
      s.batches++;
      const answer = await deps.writer.batch(token, p.items);
      const now = deps.now().getTime();
      const written: ChangeRow[] = [];
      for (const item of p.items) {
        const a: ItemAnswer =
          answer.envelope.status === 200
            ? (answer.items.get(item.id) ?? { status: 502, body: { error: { code: 'missing_response' } } })
            : answer.envelope;
        const next = apply(p.rows.get(item.id)!, outcomeOf(a, now), resultOf(a, at()));
        written.push(next);
        count(s, next);
      }
      await finishing(written);
      await save(written, 'upsert');
      out.push(...written);
    }
    return out;
  }

  /** A licence change whose user's earlier profile change did not succeed: it waits with it, or fails. */
  function heldBy(row: ChangeRow, profile: ChangeRow): ChangeRow {
    const result = (message: string): ItemResult => ({
      status: 424,
      code: 'FailedDependency',
      message,
      at: at(),
    });
    if (profile.status === 'failed')
      return {
        ...row,
        status: 'failed',
        result: result('It depends on the profile change, which failed.'),
        updatedAt: at(),
        finishedAt: at(),
      };
    return {
      ...row,
      status: profile.status === 'throttled' ? 'throttled' : 'queued',
      notBefore: profile.notBefore,
      result: result('It waits for the profile change it depends on.'),
      updatedAt: at(),
    };
  }

  /**
   * Profile writes first, then licence writes (a usage location must be set before a licence is
   * assigned); each phase in fully parallel batches. A licence goes only when its user's earlier
   * profile change in this push succeeded.
   */
  async function batches(token: string, rows: Stored<ChangeRow>[], s: PushSummary): Promise<void> {
    const profiles = await phase(
      token,
      rows.filter((r) => r.value.kind === 'profile'),
      s,
    );
    const go: Stored<ChangeRow>[] = [];
    const held: Stored<ChangeRow>[] = [];
    for (const r of rows.filter((x) => x.value.kind === 'licences')) {
      const blocker = profiles.find(
        (p) => p.userId === r.value.userId && p.id < r.value.id && p.status !== 'succeeded',
      );
      if (blocker) held.push({ value: heldBy(r.value, blocker), etag: r.etag });
      else go.push(r);
    }
    await finishing(held.map((h) => h.value));
    await save(held, 'update');
    for (const h of held) count(s, h.value);
    await phase(token, go, s, (plan, summary) => licencesLeft(token, plan, summary));
  }

  /**
   * assignLicense is not idempotent: removing a licence the user no longer holds is a 400, and adding
   * one they hold with `disabledPlans: []` turns on every service plan the tenant had left off. So
   * before a licence change that adds, or one tried before (its answer may have been lost), the users'
   * `assignedLicenses` are read, and what Microsoft already has is dropped; a change with nothing left
   * has succeeded. A licence the user holds is never sent again (its disabled plans stay as they are).
   */
  async function licencesLeft(
    token: string,
    plan: BatchPlan,
    s: PushSummary,
  ): Promise<{ plan: BatchPlan; settled: ChangeRow[] }> {
    const reads = [...plan.rows].filter(([, r]) => r.attempts > 1 || (r.addLicenses ?? []).length > 0);
    if (reads.length === 0) return { plan, settled: [] };
    s.batches++;
    const answer = await deps.writer.batch(
      token,
      reads.map(([id, r]) => ({
        id,
        method: 'GET' as const,
        url: `/users/${encodeURIComponent(r.userId)}?$select=assignedLicenses`,
      })),
    );
    const now = deps.now().getTime();
    const settled: ChangeRow[] = [];
    const left: BatchPlan = { items: [], rows: new Map() };
    for (const item of plan.items) {
      const row = plan.rows.get(item.id)!;
      if (!reads.some(([id]) => id === item.id)) {
        left.items.push(item);
        left.rows.set(item.id, row);
        continue;
      }
      const a: ItemAnswer =
        answer.envelope.status === 200
          ? (answer.items.get(item.id) ?? { status: 502, body: { error: { code: 'missing_response' } } })
          : answer.envelope;
      const o = outcomeOf(a, now);
      if (o.status !== 'succeeded') {
        settled.push(apply(row, o, resultOf(a, at())));
        continue;
      }
      const assigned = (a.body as { assignedLicenses?: unknown } | null)?.assignedLicenses;
      const held = new Set(
        (Array.isArray(assigned) ? (assigned as { skuId?: unknown }[]) : []).map((l) =>
          String(l.skuId ?? '').toLowerCase(),
        ),
      );
      const add = (row.addLicenses ?? []).filter((sku) => !held.has(sku));
      // A first attempt's removal of a licence the user lacks is the operator's mistake: Graph says so.
      const remove = (row.removeLicenses ?? []).filter((sku) => row.attempts <= 1 || held.has(sku));
      if (add.length === 0 && remove.length === 0) {
        settled.push({
          ...row,
          status: 'succeeded',
          result: {
            status: 200,
            code: 'already_applied',
            message: 'Microsoft had this change already.',
            at: at(),
          },
          updatedAt: at(),
          finishedAt: at(),
        });
        continue;
      }
      left.items.push(
        requestOf(row, item.id, { add: add.map((skuId) => ({ skuId, disabledPlans: [] })), remove }),
      );
      left.rows.set(item.id, row);
    }
    return { plan: left, settled };
  }

  function count(s: PushSummary, row: ChangeRow): void {
    s.pushed++;
    if (row.status === 'succeeded') s.succeeded++;
    else if (row.status === 'failed') s.failed++;
    else if (row.status === 'throttled') s.throttled++;
    else if (row.status === 'polling') s.polling++;
    if (row.status === 'succeeded' || row.status === 'failed') s.finished.push(row);
  }

  const digits = (n: string) => n.replace(/^\+/, '');

  /** The tenant's assignment of the change's number, if Microsoft has one (what a lost answer left). */
  async function lookup(
    token: string,
    row: ChangeRow,
  ): Promise<{ answer: ItemAnswer; entry?: Record<string, unknown> }> {
    const filter = encodeURIComponent(`telephoneNumber eq '${row.phoneNumber ?? ''}'`);
    const answer = await deps.writer.send(token, 'GET', `${NUMBERS}?$filter=${filter}`);
    const value = (answer.body as { value?: unknown } | null)?.value;
    const entry = Array.isArray(value)
      ? (value as Record<string, unknown>[]).find(
          (e) =>
            String(e.assignmentTargetId ?? '').toLowerCase() === row.userId &&
            e.activationState !== 'assignmentFailed',
        )
      : undefined;
    return entry ? { answer, entry } : { answer };
  }

  function fromAssignment(row: ChangeRow, entry: Record<string, unknown>, answer: ItemAnswer): ChangeRow {
    const result = resultOf(answer, at());
    return entry.activationState === 'activated'
      ? { ...row, status: 'succeeded', result, updatedAt: result.at, finishedAt: result.at }
      : { ...row, status: 'polling', result, notBefore: later(POLL_SECONDS * 1000), updatedAt: result.at };
  }

  async function number(token: string, stored: Stored<ChangeRow>, s: PushSummary): Promise<void> {
    let row = stored.value;
    let etag = stored.etag;
    if (row.status === 'polling') return void (await poll(token, stored, s));
    if (row.status === 'pushing') {
      // An earlier attempt was recorded but not its answer: Microsoft may have it already.
      const found = await lookup(token, row);
      const o = outcomeOf(found.answer, deps.now().getTime());
      if (o.status !== 'succeeded') {
        const next = apply(row, o, resultOf(found.answer, at()));
        await store(next, etag);
        return count(s, next);
      }
      if (found.entry) {
        const next = deadline(fromAssignment(row, found.entry, found.answer));
        await store(next, etag);
        return count(s, next);
      }
      const began = Date.parse(row.attemptedAt ?? row.updatedAt);
      if (deps.now().getTime() - began < REPOST_AFTER_MS) {
        // Accepted but not started yet, or lost: only time tells. Looked at again shortly.
        const next: ChangeRow = { ...row, notBefore: later(POLL_SECONDS * 1000), updatedAt: at() };
        await store(next, etag);
        s.pushed++;
        s.polling++;
        return;
      }
    }
    const marked = await changes.update(
      {
        ...row,
        status: 'pushing',
        attempts: row.attempts + 1,
        notBefore: at(),
        attemptedAt: at(),
        postedAt: row.postedAt ?? at(),
        updatedAt: at(),
      },
      etag,
    );
    row = marked.value;
    etag = marked.etag;
    const answer = await deps.writer.send(token, 'POST', `${NUMBERS}/assignNumber`, {
      // As Microsoft's example writes it: the digits, no '+'.
      telephoneNumber: digits(row.phoneNumber ?? ''),
      assignmentTargetId: row.userId,
      numberType: 'directRouting',
      assignmentCategory: 'primary',
    });
    // The first write after Microsoft's answer: a 202 puts its operation on record at once.
    const result = resultOf(answer, at());
    const location = answer.headers?.location;
    const next: ChangeRow =
      answer.status === 202 && location
        ? {
            ...row,
            status: 'polling',
            operationUrl: location,
            result,
            notBefore: later(POLL_SECONDS * 1000),
            updatedAt: result.at,
          }
        : apply(row, outcomeOf(answer, deps.now().getTime()), result);
    await store(next, etag);
    count(s, next);
  }

  async function poll(token: string, stored: Stored<ChangeRow>, s: PushSummary): Promise<void> {
    const row = stored.value;
    let next: ChangeRow;
    if (!row.operationUrl) {
      const found = await lookup(token, row);
      const o = outcomeOf(found.answer, deps.now().getTime());
      next = found.entry
        ? fromAssignment(row, found.entry, found.answer)
        : o.status === 'succeeded'
          ? {
              ...row,
              status: 'failed',
              result: {
                status: 404,
                code: 'assignment_missing',
                message: 'Microsoft lists no assignment of this number to the user.',
                at: at(),
              },
              updatedAt: at(),
              finishedAt: at(),
            }
          : apply(row, o, resultOf(found.answer, at()));
    } else if (!deps.writer.trusts(row.operationUrl)) {
      next = {
        ...row,
        status: 'failed',
        result: {
          status: 202,
          code: 'untrusted_location',
          message:
            'Microsoft answered with an operation Location outside the Graph root; it was not followed.',
          at: at(),
        },
        updatedAt: at(),
        finishedAt: at(),
      };
    } else {
      const answer = await deps.writer.send(token, 'GET', row.operationUrl);
      const o = outcomeOf(answer, deps.now().getTime());
      if (o.status !== 'succeeded') {
        next =
          o.status === 'failed'
            ? {
                ...row,
                status: 'polling',
                operationUrl: undefined,
                result: resultOf(answer, at()),
                notBefore: later(POLL_SECONDS * 1000),
                updatedAt: at(),
              }
            : apply(row, o, resultOf(answer, at()));
        if (next.status === 'queued') next = { ...next, status: 'polling' };
      } else {
        const op = ((answer.body as { value?: unknown } | null)?.value ?? answer.body) as {
          status?: string;
          numbers?: { status?: string; statusMessage?: string }[];
        } | null;
        const status = op?.status ?? 'running';
        const result = resultOf(answer, at());
        if (status === 'succeeded')
          next = { ...row, status: 'succeeded', result, updatedAt: result.at, finishedAt: result.at };
        else if (status === 'failed' || status === 'skipped') {
          const message =
            op?.numbers?.find((n) => n.statusMessage)?.statusMessage ?? `The number assignment ${status}.`;
          next = {
            ...row,
            status: 'failed',
            result: { ...result, code: `assignment_${status}`, message: message.slice(0, 500) },
            updatedAt: result.at,
            finishedAt: result.at,
          };
        } else
          next = {
            ...row,
            status: 'polling',
            result,
            notBefore: later(POLL_SECONDS * 1000),
            updatedAt: result.at,
          };
      }
    }
    next = deadline(next);
    await store(next, stored.etag);
    count(s, next);
  }

  /** A number assignment still open past its deadline fails: Microsoft's operation has not ended. */
  function deadline(row: ChangeRow): ChangeRow {
    if (row.status !== 'polling') return row;
    const posted = Date.parse(row.postedAt ?? row.createdAt);
    if (deps.now().getTime() - posted < ASSIGNMENT_DEADLINE_MS) return row;
    return {
      ...row,
      status: 'failed',
      result: {
        status: row.result?.status ?? 202,
        code: 'assignment_timeout',
        message: `Microsoft had not finished the number assignment ${ASSIGNMENT_DEADLINE_MS / 60_000} minutes after it was posted.`,
        at: at(),
      },
      updatedAt: at(),
      finishedAt: at(),
    };
  }

  return {
    readOpen,
    graphError,
    /** Pushes what is due of one tenant with a token that holds the write permissions. */
    async run(customerId: string, token: string, pushNow: boolean): Promise<PushSummary> {
      const s: PushSummary = {
        pushed: 0,
        succeeded: 0,
        failed: 0,
        throttled: 0,
        polling: 0,
        batches: 0,
        finished: [],
      };
      const now = deps.now().getTime();
      const open = await readOpen(customerId);
      const waiting = open.filter((r) => !isDue(r.value, now, pushNow));
      // A licence whose user's earlier profile change is not due yet (a Retry-After) waits for it.
      const due = open.filter(
        (r) =>
          isDue(r.value, now, pushNow) &&
          !(
            r.value.kind === 'licences' &&
            waiting.some(
              (w) =>
                w.value.kind === 'profile' && w.value.userId === r.value.userId && w.value.id < r.value.id,
            )
          ),
      );
      await batches(
        token,
        due.filter((r) => r.value.kind !== 'number'),
        s,
      );
      for (const r of due.filter((x) => x.value.kind === 'number')) await number(token, r, s);
      return s;
    },
    /** Marks the due changes as waiting for the customer's consent (nothing is sent). */
    async waitForConsent(
      customerId: string,
      reason: string,
      retryMs: number,
      pushNow: boolean,
    ): Promise<number> {
      const now = deps.now().getTime();
      const waiting = (await readOpen(customerId)).filter(
        (r) => isDue(r.value, now, pushNow) && r.value.status !== 'pushing' && r.value.status !== 'polling',
      );
      await save(
        waiting.map((r) => ({
          value: {
            ...r.value,
            status: 'waiting_consent' as const,
            notBefore: later(retryMs),
            result: { status: 403, code: 'waiting_consent', message: reason, at: at() },
            updatedAt: at(),
          },
          etag: r.etag,
        })),
        'update',
      );
      return waiting.length;
    },
  };
}

export type Push = ReturnType<typeof createPush>;
