import type { TableRepository } from '../storage/table-repository';
import { GraphHttpError, type GraphReader } from './graph';
import type { UserVoice } from './model';
import { partitionOf, type ReplicationRepositories } from './repositories';
import { chunks, singleEntity, voiceContent } from './rules';

/**
 * Each user's Teams voice configuration (phone numbers, effective voice routing policy and dial
 * plan, Enterprise Voice) from `GET /admin/teams/userConfigurations`. It has no delta, so the whole
 * tenant is read on its own slower schedule (REPLICATION_VOICE_MINUTES, decided in the tenant's
 * sync run) and one user right after a change to them was pushed. Rows are written only where their
 * content hash changed; a full read deletes the rows of users Microsoft no longer lists.
 */

export interface VoiceCounts {
  graphRequests: number;
  pages: number;
  written: number;
  deleted: number;
}

/** The grant lacks TeamsUserConfiguration.Read.All (consented before it was asked for). */
export class VoiceForbiddenError extends Error {
  constructor() {
    super(
      'Microsoft Graph refused the Teams user configurations (403): the consent lacks TeamsUserConfiguration.Read.All.',
    );
    this.name = 'VoiceForbiddenError';
  }
}

export function createVoiceRefresh(deps: {
  repos: Pick<ReplicationRepositories, 'voice'>;
  graph: GraphReader;
  graphBaseUrl: string;
  now: () => Date;
}) {
  const root = `${deps.graphBaseUrl.replace(/\/+$/, '')}/v1.0/admin/teams/userConfigurations`;
  const repo = deps.repos.voice;

  const read = async (url: string, accessToken: string) => {
    try {
      return await deps.graph.get(url, accessToken);
    } catch (e) {
      if (e instanceof GraphHttpError && e.status === 403) throw new VoiceForbiddenError();
      throw e;
    }
  };

  return {
    /** Reads every page; writes changed rows page by page, then deletes the users no longer listed. */
    async refreshTenant(customerId: string, accessToken: string): Promise<VoiceCounts> {
      const pk = partitionOf(customerId);
      const counts: VoiceCounts = { graphRequests: 0, pages: 0, written: 0, deleted: 0 };
      const held = new Map<string, string>();
      for await (const r of repo.listAll({ partitionKey: pk })) held.set(r.value.userId, r.value.hash);
      const seen = new Set<string>();
      let url: string | undefined = root;
      while (url) {
        const page = await read(url, accessToken);
        counts.graphRequests++;
        counts.pages++;
        const at = deps.now().toISOString();
        const rows: UserVoice[] = [];
        for (const item of page.value) {
          const content = voiceContent(item);
          seen.add(content.userId);
          if (held.get(content.userId) !== content.hash) rows.push({ ...content, customerId, updatedAt: at });
        }
        for (const chunk of chunks(rows, 100))
          await repo.transaction(chunk.map((value) => ({ op: 'upsert' as const, value })));
        for (const r of rows) held.set(r.userId, r.hash);
        counts.written += rows.length;
        url = page.nextLink;
      }
      // Only a complete read may delete: a run that failed on a page never reaches this line.
      const gone = [...held.keys()].filter((id) => !seen.has(id));
      for (const id of gone) await (repo as TableRepository<object>).delete(pk, id);
      counts.deleted = gone.length;
      return counts;
    },

    /** One user's configuration; a user Microsoft does not know (404) loses its row. */
    async refreshUser(customerId: string, userId: string, accessToken: string) {
      const pk = partitionOf(customerId);
      const id = userId.toLowerCase();
      let body: Record<string, unknown> | undefined;
      try {
        body = (await read(`${root}/${encodeURIComponent(id)}`, accessToken)).body;
      } catch (e) {
        if (!(e instanceof GraphHttpError && e.status === 404)) throw e;
      }
      const existing = await repo.get(pk, id);
      if (!body) {
        if (existing) await repo.delete(pk, id);
        return { outcome: existing ? ('removed' as const) : ('unchanged' as const) };
      }
      const content = voiceContent(singleEntity(body));
      if (existing?.value.hash === content.hash) return { outcome: 'unchanged' as const };
      await repo.upsert({ ...content, customerId, updatedAt: deps.now().toISOString() });
      return { outcome: 'written' as const };
    },
  };
}

export type VoiceRefresh = ReturnType<typeof createVoiceRefresh>;
