import { randomUUID } from 'node:crypto';
import { odata } from '@azure/data-tables';
import { ConflictError } from '../errors';
import type { Log } from '../log';
import type { TableRepository } from '../storage/table-repository';
import { GraphResyncError, GraphThrottledError, type GraphPage, type GraphReader } from './graph';
import type {
  Membership,
  ReplicatedGroup,
  ReplicatedUser,
  SeenPart,
  SyncCounts,
  SyncCursor,
  SyncState,
} from './model';
import {
  membershipKey,
  partitionOf,
  seenKey,
  SYNC_PARTITION,
  type ReplicationRepositories,
} from './repositories';
import {
  chunks,
  packIds,
  GROUP_SELECT,
  groupContent,
  isMembersOnly,
  reconcileUser,
  removedReason,
  USER_SELECT,
  userContent,
  type Reconciliation,
} from './rules';

/**
 * One delta run for one tenant: users, then groups with their members. Rows are written only where
 * their content hash changed, in transactions of up to 100; each delta link is saved only after every
 * row it covers is committed, so a worker killed half-way repeats the same pages next time (rows are
 * keyed by object id: a repeat rewrites nothing new and doubles nothing). Without a link (first run,
 * or Graph said the token expired / was reset) the run is a full one: it reads what the cache holds
 * once, writes what differs, and at the end deletes what Graph no longer lists.
 */

export interface SyncDeps {
  repos: ReplicationRepositories;
  graph: GraphReader;
  graphBaseUrl: string;
  now: () => Date;
  /** Reconciliations are handed over before the rows that reveal them are written (idempotent keys). */
  /**
   * `version` names the cached row the change was found against (its `updatedAt`): the same change
   * found again after a crash has the same version, the same change months later a new one.
   */
  onReconciliation: (customerId: string, r: Reconciliation, version: string) => Promise<void>;
  /** Table transactions and single writes made (the bench and the state count them). */
  countTransaction?: () => void;
  /**
   * Transactions in flight per page. A tenant's rows share one partition, and a partition takes about
   * 2,000 entities per second (Table Storage's scalability target): two transactions of 100 at a time
   * keep it busy without earning 503 ServerBusy.
   */
  writeConcurrency?: number;
  /** How often a long round saves where it stands (besides at the deadline). */
  checkpointMs?: number;
}

/** A killed worker repeats at most this much of a long round; each checkpoint costs a few writes. */
export const CHECKPOINT_MS = 60_000;

/**
 * With nothing changed, the link we hold still covers everything (Graph would answer "no changes"
 * from it again), so a quiet cycle writes nothing; the link is refreshed daily, well inside the
 * 7 days a directory delta token lives.
 */
const LINK_REFRESH_MS = 24 * 3600 * 1000;
export class SyncDeadlineError extends Error {
  constructor() {
    super('The sync ran out of its time budget; it continues in a new run.');
    this.name = 'SyncDeadlineError';
  }
}

export const emptyCounts = (): SyncCounts => ({
  graphRequests: 0,
  pages: 0,
  usersWritten: 0,
  usersDeleted: 0,
  groupsWritten: 0,
  groupsDeleted: 0,
  membershipsWritten: 0,
  membershipsDeleted: 0,
  tableTransactions: 0,
  reconciliations: 0,
});

/** Reconciliations found against a cached row, tagged with that row's version. */
const versioned = (row: ReplicatedUser | undefined, items: Reconciliation[]) =>
  items.map((r) => ({ r, version: row?.updatedAt ?? '' }));

/** Runs `run` over the items with at most `limit` in flight. */
export async function inParallel<T>(items: readonly T[], limit: number, run: (item: T) => Promise<void>) {
  let next = 0;
  const workers = Array.from({ length: Math.min(limit, items.length) }, async () => {
    while (next < items.length) {
      const item = items[next++] as T;
      await run(item);
    }
  });
  await Promise.all(workers);
}

export function createSync(deps: SyncDeps) {
  const concurrency = deps.writeConcurrency ?? 2;
  const checkpointMs = deps.checkpointMs ?? CHECKPOINT_MS;
  const graphRoot = `${deps.graphBaseUrl.replace(/\/+$/, '')}/v1.0`;

  const linkStale = (s: SyncState) =>
    !s.linksSavedAt || deps.now().getTime() - Date.parse(s.linksSavedAt) > LINK_REFRESH_MS;

  return async function syncTenant(input: {
    customerId: string;
    tenantId?: string;
    accessToken: string;
    log: Log;
    /** Stop between pages past this instant (the function timeout is near). */
    deadline?: number;
  }): Promise<{
    counts: SyncCounts;
    full: { users: boolean; groups: boolean };
    quiet: boolean;
    state: SyncState;
  }> {
    const { customerId, accessToken } = input;
    const pk = partitionOf(customerId);
    const counts = emptyCounts();
    const requestsBefore = deps.graph.requests;
    const stateRow = await deps.repos.sync.get(SYNC_PARTITION, pk);
    let state: SyncState = stateRow?.value ?? { customerId, fullSyncs: 0 };
    if (input.tenantId) state = { ...state, tenantId: input.tenantId };
    // The tenant's budget at Graph: its limit follows its size, as far as the cache knows it.
    const graphTenant = {
      tenantId: state.tenantId ?? customerId,
      ...(state.totals ? { users: state.totals.users } : {}),
    };
    const resumed = state.cursor;
    // Whether this sync's users round was a full one (it may have ended in an earlier run).
    let fullUsers = resumed?.kind === 'groups' && resumed.afterFullUsers === true;

    const tx = async <T extends object>(repo: TableRepository<T>, rows: T[]) => {
      await inParallel(chunks(rows, 100), concurrency, async (chunk) => {
        await repo.transaction(chunk.map((value) => ({ op: 'upsert' as const, value })));
        counts.tableTransactions++;
        deps.countTransaction?.();
      });
    };
    const remove = async (repo: TableRepository<object>, rowKeys: string[]) => {
      await inParallel(chunks(rowKeys, 100), concurrency, async (chunk) => {
        try {
          await repo.transaction(
            chunk.map((rowKey) => ({ op: 'delete' as const, partitionKey: pk, rowKey })),
          );
          counts.tableTransactions++;
          deps.countTransaction?.();
        } catch (e) {
          if (!(e instanceof ConflictError)) throw e;
          // A key already gone (a repeated page after a crash) fails the whole transaction: one by one.
          await inParallel(chunk, concurrency, async (rk) => {
            await repo.delete(pk, rk);
            counts.tableTransactions++;
            deps.countTransaction?.();
          });
        }
      });
    };
    const reconcile = async (items: { r: Reconciliation; version: string }[]) => {
      for (const { r, version } of items) {
        await deps.onReconciliation(customerId, r, version);
        counts.reconciliations++;
      }
    };

    const initialUrl = (kind: 'users' | 'groups') =>
      `${graphRoot}/${kind}/delta?$select=${(kind === 'users' ? USER_SELECT : GROUP_SELECT).join(',')}`;
    const seenRange = (kind: string, round?: string) => {
      const prefix = round === undefined ? `${kind}|` : `${kind}|${round}|`;
      // '}' follows '|' in code order: the range holds exactly the keys with this prefix.
      return odata`RowKey ge ${prefix} and RowKey lt ${`${prefix.slice(0, -1)}}`}`;
    };
    /** Leftovers of an abandoned full round of this kind (rare: only when a full round starts). */
    const clearSeen = async (kind: 'users' | 'groups', round?: string) => {
      const keys: string[] = [];
      for await (const r of deps.repos.seen.listAll({ partitionKey: pk, filter: seenRange(kind, round) }))
        keys.push(seenKey(r.value.kind, r.value.round, r.value.part));
      await remove(deps.repos.seen as TableRepository<object>, keys);
    };

    /**
     * One delta round of `kind`, page by page: from the cursor a previous run left, from the delta
     * link, or (neither) a full round from the start, restarted once as a full round if Graph says the
     * token is gone. `apply` commits a page's rows and returns the ids it listed; the round returns
     * the delta link once every page is committed.
     *
     * Resuming: past the deadline (between pages) or every `checkpointMs`, the run saves a cursor, the
     * nextLink after the last committed page, so the next run carries on from there. A full round's
     * closing step deletes what Graph did not list, so it needs every id the round listed, also in
     * earlier runs: those are saved as packed parts in `repseen` before the cursor that covers them
     * (packed into rows of up to 30,000 characters, some 800 ids or 400 memberships each, written in
     * transactions of 100; a full round is the rare case and checkpoints are spaced, so this costs a
     * handful of writes, where a cursor after every page would cost one per page). A worker killed anywhere resumes
     * from the last saved cursor: it repeats pages whose rows are already there (keyed by object id,
     * nothing doubles) and ignores parts numbered past the cursor's count.
     */
    async function runRound(
      kind: 'users' | 'groups',
      link: string | undefined,
      cursor: SyncCursor | undefined,
      seen: Set<string>,
      begin: (full: boolean) => Promise<void>,
      apply: (page: GraphPage) => Promise<string[]>,
    ): Promise<{ deltaLink: string; full: boolean; round: string; parts: number }> {
      let full = cursor ? cursor.full : link === undefined;
      let round = cursor?.round ?? randomUUID().slice(0, 8);
      let parts = cursor?.parts ?? 0;
      let url = cursor?.next ?? link ?? initialUrl(kind);
      let restarted = !cursor && link === undefined;
      let pending: string[] = [];
      let committedNext: string | undefined;
      let lastCheckpoint = deps.now().getTime();

      const checkpoint = async () => {
        if (committedNext === undefined) return;
        if (full && pending.length > 0) {
          const rows: SeenPart[] = packIds(pending).map((ids) => ({
            customerId,
            kind,
            round,
            part: parts++,
            ids,
          }));
          await tx(deps.repos.seen, rows);
        }
        const afterFullUsers = kind === 'groups' && fullUsers ? { afterFullUsers: true } : {};
        state = { ...state, cursor: { kind, next: committedNext, full, round, parts, ...afterFullUsers } };
        await deps.repos.sync.upsert(state);
        pending = [];
        committedNext = undefined;
        lastCheckpoint = deps.now().getTime();
      };

      if (cursor && full) {
        for await (const r of deps.repos.seen.listAll({ partitionKey: pk, filter: seenRange(kind, round) }))
          if (r.value.part < parts) for (const id of r.value.ids.split('\n')) if (id) seen.add(id);
      } else if (full) await clearSeen(kind);
      await begin(full);

      for (;;) {
        let page: GraphPage;
        try {
          page = await deps.graph.get(url, accessToken, graphTenant);
        } catch (e) {
          // A long Retry-After hands the run back: keep what is committed for the next one.
          if (e instanceof GraphThrottledError) await checkpoint();
          if (!(e instanceof GraphResyncError) || restarted) throw e;
          input.log.warn('replication_resync', { customerId, kind, status: e.status, code: e.code });
          restarted = true;
          full = true;
          round = randomUUID().slice(0, 8);
          parts = 0;
          pending = [];
          committedNext = undefined;
          seen.clear();
          await clearSeen(kind);
          await begin(true);
          // An empty $deltatoken in Graph's Location means "from the start", as does no token.
          url = e.location ?? initialUrl(kind);
          continue;
        }
        counts.pages++;
        for (const id of await apply(page)) {
          seen.add(id);
          if (full) pending.push(id);
        }
        if (page.deltaLink) return { deltaLink: page.deltaLink, full, round, parts };
        if (!page.nextLink) throw new Error(`Graph ${kind} delta page had neither a next nor a delta link`);
        url = page.nextLink;
        committedNext = url;
        const at = deps.now().getTime();
        if (input.deadline !== undefined && at > input.deadline) {
          await checkpoint();
          throw new SyncDeadlineError();
        }
        if (at - lastCheckpoint >= checkpointMs) await checkpoint();
      }
    }

    // ---- users ----
    let userIndex: Map<string, ReplicatedUser> | undefined;
    const loadUsers = async (full: boolean) => {
      userIndex = undefined;
      if (!full) return;
      userIndex = new Map();
      for await (const row of deps.repos.users.listAll({ partitionKey: pk }))
        userIndex.set(row.value.id, row.value);
    };
    const applyUsers = async (page: GraphPage): Promise<string[]> => {
      const ids = page.value.map((u) => String(u.id));
      const before = new Map<string, ReplicatedUser>();
      if (userIndex) {
        for (const id of ids) {
          const u = userIndex.get(id);
          if (u) before.set(id, u);
        }
      } else {
        await inParallel(ids, 16, async (id) => {
          const row = await deps.repos.users.get(pk, id);
          if (row) before.set(id, row.value);
        });
      }
      const upserts: ReplicatedUser[] = [];
      const deletes: string[] = [];
      const found: { r: Reconciliation; version: string }[] = [];
      const at = deps.now().toISOString();
      for (const item of page.value) {
        const id = String(item.id);
        const old = before.get(id);
        const removed = removedReason(item);
        if (removed) {
          found.push(...versioned(old, reconcileUser(old, { removed, id })));
          if (!old) continue;
          if (removed === 'deleted') deletes.push(id);
          else if (!old.deleted)
            upserts.push({ ...old, deleted: true, hash: `${old.hash}:deleted`, updatedAt: at });
          continue;
        }
        const content = userContent(item);
        if (old && old.hash === content.hash) continue;
        found.push(...versioned(old, reconcileUser(old, content)));
        upserts.push({ ...content, customerId, updatedAt: at });
      }
      await reconcile(found);
      await tx(deps.repos.users, upserts);
      await remove(deps.repos.users as TableRepository<object>, deletes);
      counts.usersWritten += upserts.length;
      counts.usersDeleted += deletes.length;
      for (const u of upserts) userIndex?.set(u.id, u);
      return ids;
    };

    const seenUsers = new Set<string>();
    let usersQuiet = true;
    let totalUsers: number | undefined;
    // A cursor of the groups round means the users round is done and its link saved.
    if (resumed?.kind !== 'groups') {
      const users = await runRound(
        'users',
        state.usersDeltaLink,
        resumed?.kind === 'users' ? resumed : undefined,
        seenUsers,
        loadUsers,
        applyUsers,
      );
      fullUsers = users.full;
      if (fullUsers && userIndex) {
        // Soft-deleted users are not listed by a full round; they stay as they are.
        const gone = [...userIndex.values()].filter((u) => !seenUsers.has(u.id) && !u.deleted);
        await reconcile(
          gone.flatMap((u) => versioned(u, reconcileUser(u, { removed: 'deleted', id: u.id }))),
        );
        await remove(
          deps.repos.users as TableRepository<object>,
          gone.map((u) => u.id),
        );
        counts.usersDeleted += gone.length;
        totalUsers = [...userIndex.keys()].filter((id) => seenUsers.has(id)).length;
      }
      userIndex = undefined;
      // The rows this link covers are committed: only now is it saved.
      usersQuiet = !fullUsers && counts.usersWritten + counts.usersDeleted === 0;
      if (!usersQuiet || linkStale(state) || state.cursor) {
        const { cursor: _done, ...rest } = state;
        state = {
          ...rest,
          usersDeltaLink: users.deltaLink,
          linksSavedAt: deps.now().toISOString(),
          fullSyncs: state.fullSyncs + (fullUsers ? 1 : 0),
          ...(totalUsers !== undefined && state.totals
            ? { totals: { ...state.totals, users: totalUsers } }
            : {}),
        };
        await deps.repos.sync.upsert(state);
        // After the state: a worker killed before this leaves parts the next full round clears.
        if (users.parts > 0) await clearSeen('users', users.round);
      }
    }

    // ---- groups and memberships ----
    let groupIndex: Map<string, string> | undefined;
    let memberIndex: Set<string> | undefined;
    const loadGroups = async (full: boolean) => {
      groupIndex = undefined;
      memberIndex = undefined;
      if (!full) return;
      groupIndex = new Map();
      memberIndex = new Set();
      for await (const row of deps.repos.groups.listAll({ partitionKey: pk }))
        groupIndex.set(row.value.id, row.value.hash);
      for await (const row of deps.repos.members.listAll({ partitionKey: pk }))
        memberIndex.add(membershipKey(row.value.groupId, row.value.memberId));
    };
    const applyGroups = async (page: GraphPage): Promise<string[]> => {
      const listed: string[] = [];
      const at = deps.now().toISOString();
      const groupRows: ReplicatedGroup[] = [];
      const memberRows: Membership[] = [];
      const memberDeletes: string[] = [];
      const groupDeletes: string[] = [];
      const contents = page.value.filter((g) => !removedReason(g) && !isMembersOnly(g));
      const oldHash = new Map<string, string>();
      if (groupIndex) {
        for (const g of contents) {
          const h = groupIndex.get(String(g.id));
          if (h) oldHash.set(String(g.id), h);
        }
      } else {
        await inParallel(contents, 16, async (g) => {
          const row = await deps.repos.groups.get(pk, String(g.id));
          if (row) oldHash.set(row.value.id, row.value.hash);
        });
      }
      for (const item of page.value) {
        const id = String(item.id);
        listed.push(id);
        if (removedReason(item)) {
          groupDeletes.push(id);
          for await (const m of deps.repos.members.listAll({
            partitionKey: pk,
            filter: odata`RowKey ge ${`${id}|`} and RowKey lt ${`${id}}`}`,
          })) {
            memberDeletes.push(membershipKey(m.value.groupId, m.value.memberId));
          }
          continue;
        }
        if (!isMembersOnly(item)) {
          const content = groupContent(item);
          if (oldHash.get(id) !== content.hash) groupRows.push({ ...content, customerId, updatedAt: at });
        }
        const members = Array.isArray(item['members@delta'])
          ? (item['members@delta'] as Record<string, unknown>[])
          : [];
        for (const m of members) {
          const key = membershipKey(id, String(m.id));
          if (removedReason(m)) {
            memberDeletes.push(key);
            continue;
          }
          listed.push(key);
          if (memberIndex?.has(key)) continue;
          memberRows.push({ customerId, groupId: id, memberId: String(m.id) });
        }
      }
      await tx(deps.repos.groups, groupRows);
      await tx(deps.repos.members, memberRows);
      await remove(deps.repos.members as TableRepository<object>, memberDeletes);
      await remove(deps.repos.groups as TableRepository<object>, groupDeletes);
      counts.groupsWritten += groupRows.length;
      counts.groupsDeleted += groupDeletes.length;
      counts.membershipsWritten += memberRows.length;
      counts.membershipsDeleted += memberDeletes.length;
      for (const g of groupRows) groupIndex?.set(g.id, g.hash);
      for (const m of memberRows) memberIndex?.add(membershipKey(m.groupId, m.memberId));
      return listed;
    };

    // Group ids and `<group id>|<member id>` keys (no group id holds a '|').
    const seenGroups = new Set<string>();
    const groups = await runRound(
      'groups',
      state.groupsDeltaLink,
      resumed?.kind === 'groups' ? resumed : undefined,
      seenGroups,
      loadGroups,
      applyGroups,
    );
    const fullGroups = groups.full;
    let totals = state.totals;
    if (fullGroups && groupIndex && memberIndex) {
      const goneGroups = [...groupIndex.keys()].filter((id) => !seenGroups.has(id));
      const goneMembers = [...memberIndex].filter((k) => !seenGroups.has(k));
      await remove(deps.repos.members as TableRepository<object>, goneMembers);
      await remove(deps.repos.groups as TableRepository<object>, goneGroups);
      counts.groupsDeleted += goneGroups.length;
      counts.membershipsDeleted += goneMembers.length;
      totals = {
        users: totalUsers ?? totals?.users ?? 0,
        groups: groupIndex.size - goneGroups.length,
        memberships: memberIndex.size - goneMembers.length,
      };
    }
    groupIndex = undefined;
    memberIndex = undefined;
    counts.graphRequests = deps.graph.requests - requestsBefore;
    const groupsQuiet =
      !fullGroups &&
      counts.groupsWritten + counts.groupsDeleted + counts.membershipsWritten + counts.membershipsDeleted ===
        0;
    if (!groupsQuiet || linkStale(state) || state.cursor) {
      const { cursor: _done, ...rest } = state;
      state = {
        ...rest,
        groupsDeltaLink: groups.deltaLink,
        linksSavedAt: deps.now().toISOString(),
        fullSyncs: state.fullSyncs + (fullGroups && !fullUsers ? 1 : 0),
        ...(totals ? { totals } : {}),
      };
      await deps.repos.sync.upsert(state);
      if (groups.parts > 0) await clearSeen('groups', groups.round);
    }
    return {
      counts,
      full: { users: fullUsers, groups: fullGroups },
      quiet: usersQuiet && groupsQuiet,
      state,
    };
  };
}

export type SyncTenant = ReturnType<typeof createSync>;
