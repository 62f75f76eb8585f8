import { odata } from '@azure/data-tables';
import type { Log } from '../log';
import type { TableRepository } from '../storage/table-repository';
import { GraphResyncError, type GraphReader } from './graph';
import type { Membership, ReplicatedGroup, ReplicatedUser, SyncCounts, SyncState } from './model';
import { membershipKey, partitionOf, SYNC_PARTITION, type ReplicationRepositories } from './repositories';
import {
  chunks,
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
  /** Parallel transactions per page. */
  writeConcurrency?: number;
}

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
  const concurrency = deps.writeConcurrency ?? 8;
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

    const tx = async <T extends object>(repo: TableRepository<T>, rows: T[]) => {
      await inParallel(chunks(rows, 100), concurrency, async (chunk) => {
        await repo.transaction(chunk.map((value) => ({ op: 'upsert' as const, value })));
        counts.tableTransactions++;
        deps.countTransaction?.();
      });
    };
    const remove = async (repo: TableRepository<object>, rowKeys: string[]) => {
      // One by one: a key may already be gone (a repeated page), which would fail a whole transaction.
      await inParallel(rowKeys, concurrency, async (rk) => {
        await repo.delete(pk, rk);
        counts.tableTransactions++;
        deps.countTransaction?.();
      });
    };
    const checkDeadline = () => {
      if (input.deadline !== undefined && deps.now().getTime() > input.deadline)
        throw new SyncDeadlineError();
    };
    const reconcile = async (items: { r: Reconciliation; version: string }[]) => {
      for (const { r, version } of items) {
        await deps.onReconciliation(customerId, r, version);
        counts.reconciliations++;
      }
    };

    /** Pages of one delta round, starting over once if Graph says the token is gone. */
    async function* pagesFrom(
      kind: 'users' | 'groups',
      link: string | undefined,
      onRestart: () => Promise<void>,
    ) {
      const select = (kind === 'users' ? USER_SELECT : GROUP_SELECT).join(',');
      let url = link ?? `${graphRoot}/${kind}/delta?$select=${select}`;
      let restarted = link === undefined;
      for (;;) {
        checkDeadline();
        let page;
        try {
          page = await deps.graph.get(url, accessToken);
        } catch (e) {
          if (!(e instanceof GraphResyncError) || restarted) throw e;
          input.log.warn('replication_resync', { customerId, kind, status: e.status, code: e.code });
          restarted = true;
          await onRestart();
          url = e.location ?? `${graphRoot}/${kind}/delta?$select=${select}`;
          // An empty $deltatoken in Graph's Location means "from the start", as does no token.
          continue;
        }
        counts.pages++;
        yield page;
        if (page.deltaLink) return page.deltaLink;
        if (!page.nextLink) throw new Error(`Graph ${kind} delta page had neither a next nor a delta link`);
        url = page.nextLink;
      }
    }

    async function drain<R>(
      gen: AsyncGenerator<unknown, R>,
      each: (page: never) => Promise<void>,
    ): Promise<R> {
      for (;;) {
        const step = await gen.next();
        if (step.done) return step.value;
        await each(step.value as never);
      }
    }

    // ---- users ----
    let userIndex: Map<string, ReplicatedUser> | undefined;
    const loadUsers = async () => {
      userIndex = new Map();
      for await (const row of deps.repos.users.listAll({ partitionKey: pk }))
        userIndex.set(row.value.id, row.value);
    };
    const fullUsers = { value: state.usersDeltaLink === undefined };
    if (fullUsers.value) await loadUsers();
    const seenUsers = new Set<string>();
    const usersLink = await drain(
      pagesFrom('users', state.usersDeltaLink, async () => {
        fullUsers.value = true;
        seenUsers.clear();
        await loadUsers();
      }),
      async (page: { value: Record<string, unknown>[] }) => {
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
          seenUsers.add(id);
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
      },
    );
    if (fullUsers.value && userIndex) {
      // Soft-deleted users are not listed by a full round; they stay as they are.
      const gone = [...userIndex.values()].filter((u) => !seenUsers.has(u.id) && !u.deleted);
      await reconcile(gone.flatMap((u) => versioned(u, reconcileUser(u, { removed: 'deleted', id: u.id }))));
      await remove(
        deps.repos.users as TableRepository<object>,
        gone.map((u) => u.id),
      );
      counts.usersDeleted += gone.length;
    }
    const totalUsers = userIndex ? [...userIndex.keys()].filter((id) => seenUsers.has(id)).length : undefined;
    userIndex = undefined;
    // The rows this link covers are committed: only now is it saved.
    const usersQuiet = !fullUsers.value && counts.usersWritten + counts.usersDeleted === 0;
    if (!usersQuiet || linkStale(state)) {
      state = {
        ...state,
        usersDeltaLink: usersLink,
        linksSavedAt: deps.now().toISOString(),
        fullSyncs: state.fullSyncs + (fullUsers.value ? 1 : 0),
      };
      await deps.repos.sync.upsert(state);
    }

    // ---- groups and memberships ----
    let groupIndex: Map<string, string> | undefined;
    let memberIndex: Set<string> | undefined;
    const loadGroups = async () => {
      groupIndex = new Map();
      memberIndex = new Set();
      for await (const row of deps.repos.groups.listAll({ partitionKey: pk }))
        groupIndex.set(row.value.id, row.value.hash);
      for await (const row of deps.repos.members.listAll({ partitionKey: pk }))
        memberIndex.add(membershipKey(row.value.groupId, row.value.memberId));
    };
    const fullGroups = { value: state.groupsDeltaLink === undefined };
    if (fullGroups.value) await loadGroups();
    const seenGroups = new Set<string>();
    const seenMembers = new Set<string>();
    const groupsLink = await drain(
      pagesFrom('groups', state.groupsDeltaLink, async () => {
        fullGroups.value = true;
        seenGroups.clear();
        seenMembers.clear();
        await loadGroups();
      }),
      async (page: { value: Record<string, unknown>[] }) => {
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
          seenGroups.add(id);
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
            seenMembers.add(key);
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
      },
    );
    let totals = state.totals;
    if (fullGroups.value && groupIndex && memberIndex) {
      const goneGroups = [...groupIndex.keys()].filter((id) => !seenGroups.has(id));
      const goneMembers = [...memberIndex].filter((k) => !seenMembers.has(k));
      await remove(deps.repos.members as TableRepository<object>, goneMembers);
      await remove(deps.repos.groups as TableRepository<object>, goneGroups);
      counts.groupsDeleted += goneGroups.length;
      counts.membershipsDeleted += goneMembers.length;
      totals = {
        users: totalUsers ?? totals?.users ?? 0,
        groups: groupIndex.size - goneGroups.length,
        memberships: memberIndex.size - goneMembers.length,
      };
    } else if (totalUsers !== undefined && totals) {
      totals = { ...totals, users: totalUsers };
    }
    groupIndex = undefined;
    memberIndex = undefined;
    counts.graphRequests = deps.graph.requests - requestsBefore;
    const groupsQuiet =
      !fullGroups.value &&
      counts.groupsWritten + counts.groupsDeleted + counts.membershipsWritten + counts.membershipsDeleted ===
        0;
    if (!groupsQuiet || linkStale(state)) {
      state = {
        ...state,
        groupsDeltaLink: groupsLink,
        linksSavedAt: deps.now().toISOString(),
        fullSyncs: state.fullSyncs + (fullGroups.value && !fullUsers.value ? 1 : 0),
        ...(totals ? { totals } : {}),
      };
      await deps.repos.sync.upsert(state);
    }
    return {
      counts,
      full: { users: fullUsers.value, groups: fullGroups.value },
      quiet: usersQuiet && groupsQuiet,
      state,
    };
  };
}

export type SyncTenant = ReturnType<typeof createSync>;
