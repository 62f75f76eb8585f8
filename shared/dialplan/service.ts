import { randomBytes, randomUUID } from 'node:crypto';
import { odata } from '@azure/data-tables';
import type { Clock } from '../clock';
import { addSeconds } from '../clock';
import type { Config } from '../config';
import {
  ConflictError,
  DependencyError,
  NotFoundError,
  UnprocessableError,
  ValidationError,
} from '../errors';
import type { Jobs, Mailbox } from '../jobs';
import { backoffSeconds } from '../jobs';
import type { DrainResult } from '../jobs/mailbox';
import { tableKey } from '../jobs/rules';
import type { Log } from '../log';
import type { CustomerService } from '../onboarding/customers';
import type { PendingCleanups } from '../orders/cleanups';
import { parseWith } from '../http/requests';
import { createSbcClient, type PushAnswer, type SbcClient, type SbcStatus } from '../sbc/client';
import { unifiedDiff } from '../sbc/diff';
import { parseRunningConfig, type DeviceConfig } from '../sbc/running-config';
import {
  checkTemplate,
  defaultTemplates,
  languageOf,
  RenderError,
  renderTemplate,
  templateNames,
  type TemplateName,
} from '../sbc/templates';
import { tag as tagSchema } from '../sbc/values';
import type { SecretStore } from '../secrets/vault';
import type { AuditLog } from '../storage/audit';
import type { Page, Stored } from '../storage/table-repository';
import {
  openStatuses,
  type ChangeKind,
  type ChangeRow,
  type PrefixRule,
  type SbcRow,
  type SiteRow,
} from './model';
import { SBC_MAILBOX } from './queues';
import { SBC_PARTITION, TEMPLATE_PARTITION, templateRowKey, type DialPlanRepositories } from './repositories';
import {
  changeId,
  coalesce,
  combineSections,
  deriveTrunkFqdn,
  effectsOf,
  isEffective,
  maskSecrets,
  planSections,
  siteContext,
  type Section,
} from './rules';
import {
  importInputSchema,
  prefixChangeSchema,
  sbcInputSchema,
  sbcPatchSchema,
  siteInputSchema,
  templateSaveSchema,
  type ChangeView,
  type SbcView,
  type SiteView,
  type TemplateView,
} from './views';

/** After this long an open change whose message was lost is woken by the sweep. */
const STRANDED_SECONDS = 900;

export interface DialPlanDeps {
  config: Config['sbc'];
  repos: DialPlanRepositories;
  jobs: Jobs;
  secrets: SecretStore;
  audit: AuditLog;
  customers: CustomerService;
  cleanups: PendingCleanups;
  now: Clock;
}

export interface PushOutcome {
  outcome: 'nothing' | 'applied' | 'already-applied' | 'refused' | 'retrying' | 'failed';
  changes: number;
  pushed: boolean;
}

export type DialPlanService = ReturnType<typeof createDialPlanService>;

/** A name per SBC record: two racing adds of one id never overwrite each other's password. */
const sbcSecretName = (id: string) => `sbc-${id}-admin-${randomBytes(4).toString('hex')}`;
const carrierSecretName = (sbcId: string, siteId: string) =>
  `sbc-${sbcId}-site-${siteId}-carrier`.replace(/_/g, '-');

export function createDialPlanService(deps: DialPlanDeps) {
  const { repos, config, secrets, audit } = deps;
  const mailbox: Mailbox<{ changeId: string }> = deps.jobs.mailbox(SBC_MAILBOX);
  const nowIso = () => deps.now().toISOString();

  // The sweep wakes an SBC whose change is past due: its message was lost, or its back-off is over.
  repos.changes.requeueWhenDue({
    isOpen: (c) => openStatuses.includes(c.status),
    bump: (c) => ({ ...c, dueAt: addSeconds(deps.now(), STRANDED_SECONDS) }),
    send: async (c) => {
      await mailbox.post(c.sbcId, { id: `${c.id}#${c.attempts}#${Date.now()}`, payload: { changeId: c.id } });
    },
    log: (c, log) => log.info('sbc_change_requeued', { sbcId: c.sbcId, changeId: c.id, status: c.status }),
  });

  // ---- SBCs ---------------------------------------------------------------------------------------

  async function sbcRow(id: string): Promise<Stored<SbcRow>> {
    const row = await repos.sbcs.get(SBC_PARTITION, tableKey(id));
    if (!row) throw new NotFoundError('SBC', id);
    return row;
  }

  async function clientFor(sbc: SbcRow): Promise<SbcClient> {
    const password = await secrets.get(sbc.passwordSecret);
    if (password === undefined) throw new DependencyError('key vault', `no admin password for SBC ${sbc.id}`);
    return createSbcClient({
      baseUrl: `${sbc.https ? 'https' : 'http'}://${sbc.fqdn}${sbc.port ? `:${sbc.port}` : ''}`,
      username: sbc.adminUser,
      password,
      timeoutMs: config.requestTimeoutMs,
    });
  }

  async function sitesOf(sbcId: string): Promise<SiteRow[]> {
    const out: SiteRow[] = [];
    for await (const s of repos.sites.listAll({ partitionKey: tableKey(sbcId) })) out.push(s.value);
    return out;
  }

  async function sbcView(sbc: SbcRow, live: boolean): Promise<SbcView> {
    const [sites, status] = await Promise.all([
      sitesOf(sbc.id),
      live
        ? clientFor(sbc).then(
            (c) => c.status(),
            (e: unknown): SbcStatus => ({
              reachable: false,
              error: e instanceof Error ? e.message : String(e),
            }),
          )
        : undefined,
    ]);
    const active = sites.filter((s) => s.sbcState !== 'removed');
    return {
      id: sbc.id,
      name: sbc.name,
      fqdn: sbc.fqdn,
      port: sbc.port ?? null,
      natAddress: sbc.natAddress ?? null,
      https: sbc.https,
      adminUser: sbc.adminUser,
      counts: {
        sites: active.length,
        sipAccounts: active.filter((s) => s.carrier).length,
        rules: active.reduce((n, s) => n + s.prefixes.length, 0),
      },
      status: status
        ? {
            reachable: status.reachable,
            operationalState: status.operationalState ?? null,
            versionID: status.versionID ?? null,
            saveNeeded: status.saveNeeded ?? null,
            error: status.error ?? null,
          }
        : null,
      createdAt: sbc.createdAt,
      updatedAt: sbc.updatedAt,
    };
  }

  const sbcs = {
    async add(input: unknown, actor: string): Promise<SbcView> {
      const v = parseWith(sbcInputSchema, input);
      if (await repos.sbcs.get(SBC_PARTITION, tableKey(v.id)))
        throw new ConflictError(`SBC '${v.id}' already exists.`);
      const passwordSecret = sbcSecretName(v.id);
      await secrets.set(passwordSecret, v.adminPassword, { contentType: 'sbc-admin-password' });
      const at = nowIso();
      const row = await repos.sbcs
        .create({
          id: v.id,
          name: v.name,
          fqdn: v.fqdn,
          ...(v.port ? { port: v.port } : {}),
          ...(v.natAddress ? { natAddress: v.natAddress } : {}),
          https: v.https,
          adminUser: v.adminUser,
          passwordSecret,
          createdAt: at,
          updatedAt: at,
        })
        .catch(async (e: unknown) => {
          // Only a lost race is sure to have stored nothing: a timeout may have created the row.
          if (e instanceof ConflictError) await secrets.remove(passwordSecret).catch(() => undefined);
          throw e;
        });
      await audit.record({ actor, action: 'sbc.added', target: v.id });
      return sbcView(row.value, false);
    },
    async list(options: { pageSize?: number; continuationToken?: string } = {}) {
      const page = await repos.sbcs.list({
        partitionKey: SBC_PARTITION,
        pageSize: options.pageSize ?? 100,
        ...(options.continuationToken ? { continuationToken: options.continuationToken } : {}),
      });
      return {
        items: await Promise.all(page.items.map((s) => sbcView(s.value, true))),
        continuationToken: page.continuationToken ?? null,
      };
    },
    async get(id: string): Promise<SbcView> {
      return sbcView((await sbcRow(id)).value, true);
    },
    async update(id: string, input: unknown, actor: string): Promise<SbcView> {
      const patch = parseWith(sbcPatchSchema, input);
      const current = await sbcRow(id);
      if (patch.adminPassword !== undefined)
        await secrets.set(current.value.passwordSecret, patch.adminPassword);
      const { adminPassword: _secret, ...fields } = patch;
      const next = { ...current.value, ...fields, updatedAt: nowIso() };
      const saved = await repos.sbcs.update(next, current.etag);
      await audit.record({
        actor,
        action: 'sbc.changed',
        target: id,
        details: {
          fields: Object.keys(patch).map((k) => (k === 'adminPassword' ? 'adminPassword (Key Vault)' : k)),
        },
      });
      return sbcView(saved.value, false);
    },
    async remove(id: string, actor: string): Promise<void> {
      const current = await sbcRow(id);
      const live = (await sitesOf(id)).filter((s) => s.sbcState !== 'removed');
      if (live.length > 0) {
        throw new ConflictError(`SBC '${id}' still has ${live.length} site(s); remove them first.`, {
          sites: live.map((s) => s.id).slice(0, 20),
        });
      }
      await repos.sbcs.delete(SBC_PARTITION, tableKey(id), current.etag);
      await secrets.remove(current.value.passwordSecret);
      await audit.record({ actor, action: 'sbc.removed', target: id });
    },
  };

  // ---- Sites ---------------------------------------------------------------------------------------

  const siteView = (s: SiteRow): SiteView => ({
    sbcId: s.sbcId,
    id: s.id,
    customerId: s.customerId,
    configuration: s.configuration,
    trunkFqdn: s.trunkFqdn,
    ruleName: s.ruleName,
    dialPlan: s.dialPlan,
    carrierId: s.carrierId,
    cacProfile: s.cacProfile ?? null,
    carrierRegistration: s.carrier
      ? { userName: s.carrier.userName, hostName: s.carrier.hostName, mainLine: s.carrier.mainLine }
      : null,
    prefixes: s.prefixes,
    sbcState: s.sbcState,
    microsoftState: s.microsoftState,
    createdAt: s.createdAt,
    updatedAt: s.updatedAt,
  });

  async function siteRow(sbcId: string, siteId: string): Promise<Stored<SiteRow>> {
    const row = await repos.sites.get(tableKey(sbcId), tableKey(siteId));
    if (!row) throw new NotFoundError('Site', `${sbcId}/${siteId}`);
    return row;
  }

  /** Prefixes as the API takes them (a string or `{ prefix, tag }`), with the site's trunk as the default tag. */
  function rulesFrom(
    input: (string | { prefix: string; tag?: string | undefined })[],
    trunkFqdn: string,
  ): PrefixRule[] {
    const tag = tagSchema(config.tagMaxLength);
    const seen = new Map<string, PrefixRule>();
    input.forEach((p, i) => {
      const r =
        typeof p === 'string' ? { prefix: p, tag: trunkFqdn } : { prefix: p.prefix, tag: p.tag ?? trunkFqdn };
      const checked = tag.safeParse(r.tag);
      if (!checked.success) {
        throw new ValidationError('A tag is not valid.', [
          { field: `prefixes.${i}.tag`, message: checked.error.issues[0]?.message ?? 'invalid' },
        ]);
      }
      seen.set(r.prefix, r);
    });
    return [...seen.values()];
  }

  async function enqueue(
    site: SiteRow,
    kind: ChangeKind,
    prefixes: PrefixRule[],
    actor: string,
    source: ChangeRow['source'],
  ): Promise<ChangeRow> {
    const at = deps.now();
    const row: ChangeRow = {
      sbcId: site.sbcId,
      id: changeId(at, randomBytes(6).toString('hex')),
      siteId: site.id,
      customerId: site.customerId,
      kind,
      prefixes,
      status: 'queued',
      attempts: 0,
      dueAt: addSeconds(at, STRANDED_SECONDS),
      source,
      actor,
      createdAt: at.toISOString(),
      updatedAt: at.toISOString(),
    };
    await repos.changes.create(row);
    // A quiet window lets a burst of changes to one SBC gather into one push. A lost wake-up is made
    // good by the sweep (the change is due in STRANDED_SECONDS).
    await mailbox
      .post(site.sbcId, { id: row.id, payload: { changeId: row.id } }, { delaySeconds: config.quietSeconds })
      .catch(() => undefined);
    return row;
  }

  const sites = {
    async create(sbcId: string, input: unknown, actor: string, source: ChangeRow['source'] = 'api') {
      const v = parseWith(siteInputSchema, input);
      await sbcRow(sbcId);
      await deps.customers.get(v.customerId);
      const id = v.id ?? v.customerId.toLowerCase();
      const ruleName = v.ruleName ?? v.customerId;
      if (ruleName.length > 15) {
        throw new ValidationError('The rule name is too long.', [
          { field: 'ruleName', message: 'the customer id is longer than 15 characters: give a ruleName' },
        ]);
      }
      let trunkFqdn = v.trunkFqdn;
      if (!trunkFqdn) {
        trunkFqdn = deriveTrunkFqdn(v.customerId, config.customerDomain);
        if (!/^[a-z0-9.-]+$/.test(trunkFqdn)) {
          throw new ValidationError('No trunk FQDN can be derived.', [
            { field: 'trunkFqdn', message: 'the customer id is not a DNS label: give a trunkFqdn' },
          ]);
        }
      }
      const others = (await sitesOf(sbcId)).filter((s) => s.sbcState !== 'removed' && s.id !== id);
      if (
        others.some((s) => s.ruleName.toLowerCase() === ruleName.toLowerCase() && s.dialPlan === v.dialPlan)
      ) {
        throw new ConflictError(`Another site on SBC '${sbcId}' names its rules '${ruleName}'.`);
      }
      const existing = await repos.sites.get(tableKey(sbcId), tableKey(id));
      if (existing && existing.value.sbcState !== 'removed')
        throw new ConflictError(`Site '${id}' already exists on SBC '${sbcId}'.`);
      const prefixes = rulesFrom(v.prefixes, trunkFqdn);
      let carrier: SiteRow['carrier'];
      if (v.carrier) {
        const passwordSecret = carrierSecretName(sbcId, id);
        await secrets.set(passwordSecret, v.carrier.password, { contentType: 'carrier-password' });
        carrier = {
          userName: v.carrier.userName,
          hostName: v.carrier.hostName,
          mainLine: v.carrier.mainLine,
          passwordSecret,
        };
      }
      const at = nowIso();
      const row: SiteRow = {
        sbcId,
        id,
        customerId: v.customerId,
        configuration: v.configuration,
        trunkFqdn,
        ruleName,
        dialPlan: v.dialPlan,
        carrierId: v.carrierId,
        ...(v.cacProfile ? { cacProfile: v.cacProfile } : {}),
        ...(carrier ? { carrier } : {}),
        prefixes,
        sbcState: 'pending',
        microsoftState: 'manual-step-pending',
        createdAt: at,
        updatedAt: at,
      };
      // The index first: an entry whose site write failed points at nothing and is skipped.
      await repos.sitesByCustomer.upsert({ customerKey: v.customerId.toLowerCase(), sbcId, siteId: id });
      const saved = existing ? await repos.sites.update(row, existing.etag) : await repos.sites.create(row);
      const change = await enqueue(saved.value, 'deploy', prefixes, actor, source);
      await audit.record({
        actor,
        action: 'sbc.site.created',
        customerId: v.customerId,
        target: `${sbcId}/${id}`,
        details: { changeId: change.id },
      });
      return { site: siteView(saved.value), change: changeView(change) };
    },
    async list(sbcId: string, options: { pageSize?: number; continuationToken?: string } = {}) {
      await sbcRow(sbcId);
      const page = await repos.sites.list({
        partitionKey: tableKey(sbcId),
        pageSize: options.pageSize ?? 100,
        ...(options.continuationToken ? { continuationToken: options.continuationToken } : {}),
      });
      return {
        items: page.items.map((s) => siteView(s.value)),
        continuationToken: page.continuationToken ?? null,
      };
    },
    async get(sbcId: string, siteId: string) {
      return siteView((await siteRow(sbcId, siteId)).value);
    },
    async ownerOf(sbcId: string, siteId: string): Promise<string | undefined> {
      const row = await repos.sites.get(tableKey(sbcId), tableKey(siteId));
      return row && row.value.sbcState !== 'removed' ? row.value.customerId : undefined;
    },
    async remove(sbcId: string, siteId: string, actor: string, source: ChangeRow['source'] = 'api') {
      const current = await siteRow(sbcId, siteId);
      if (current.value.sbcState === 'removing' || current.value.sbcState === 'removed') {
        return { site: siteView(current.value), change: null };
      }
      const saved = await repos.sites.update(
        { ...current.value, sbcState: 'removing', updatedAt: nowIso() },
        current.etag,
      );
      const change = await enqueue(saved.value, 'cleanup', [], actor, source);
      await audit.record({
        actor,
        action: 'sbc.site.removing',
        customerId: saved.value.customerId,
        target: `${sbcId}/${siteId}`,
      });
      return { site: siteView(saved.value), change: changeView(change) };
    },
    async changePrefixes(
      sbcId: string,
      siteId: string,
      input: unknown,
      actor: string,
      source: ChangeRow['source'] = 'api',
    ) {
      const v = parseWith(prefixChangeSchema, input);
      const current = await siteRow(sbcId, siteId);
      if (current.value.sbcState === 'removing' || current.value.sbcState === 'removed') {
        throw new ConflictError(`Site '${siteId}' is being removed.`);
      }
      const add = rulesFrom(v.add, current.value.trunkFqdn);
      const remove = [...new Set(v.remove)];
      // Read-modify-write with the ETag, retried: concurrent prefix changes to one site all land.
      const saved = await repos.sites.mutate(
        tableKey(sbcId),
        tableKey(siteId),
        (s) => {
          if (s.sbcState === 'removing' || s.sbcState === 'removed') {
            throw new ConflictError(`Site '${siteId}' is being removed.`);
          }
          const prefixes = [
            ...s.prefixes.filter(
              (p) => !remove.includes(p.prefix) && !add.some((a) => a.prefix === p.prefix),
            ),
            ...add,
          ];
          return { ...s, prefixes, updatedAt: nowIso() };
        },
        20,
      );
      if (!saved) throw new NotFoundError('Site', `${sbcId}/${siteId}`);
      const changes: ChangeRow[] = [];
      if (remove.length > 0) {
        changes.push(
          await enqueue(
            saved.value,
            'remove-prefixes',
            remove.map((prefix) => ({ prefix, tag: '' })),
            actor,
            source,
          ),
        );
      }
      if (add.length > 0) changes.push(await enqueue(saved.value, 'add-prefixes', add, actor, source));
      await audit.record({
        actor,
        action: 'sbc.site.prefixes',
        customerId: saved.value.customerId,
        target: `${sbcId}/${siteId}`,
        details: { added: add.length, removed: remove.length },
      });
      return { site: siteView(saved.value), changes: changes.map(changeView) };
    },
    /** The Microsoft side Graph cannot do (PSTN gateway, voice route, routing policy), as a ready script. */
    async microsoftScript(sbcId: string, siteId: string) {
      const site = (await siteRow(sbcId, siteId)).value;
      const t = await templates.current('teams-direct-routing');
      return {
        template: t.name,
        version: t.version,
        script: renderTemplate('teams-direct-routing', t.source, siteContext(site, {})),
      };
    },
    async markMicrosoftDone(sbcId: string, siteId: string, actor: string) {
      const saved = await repos.sites.mutate(tableKey(sbcId), tableKey(siteId), (s) => ({
        ...s,
        microsoftState: 'done',
        updatedAt: nowIso(),
      }));
      if (!saved) throw new NotFoundError('Site', `${sbcId}/${siteId}`);
      await audit.record({
        actor,
        action: 'sbc.site.microsoft-done',
        customerId: saved.value.customerId,
        target: `${sbcId}/${siteId}`,
      });
      return siteView(saved.value);
    },
  };

  // ---- Changes -------------------------------------------------------------------------------------

  function changeView(c: ChangeRow): ChangeView {
    return {
      sbcId: c.sbcId,
      id: c.id,
      siteId: c.siteId,
      customerId: c.customerId,
      kind: c.kind,
      prefixes: c.prefixes.map((p) => p.prefix),
      status: c.status,
      attempts: c.attempts,
      error: c.error ?? null,
      effects: c.effects ?? null,
      nextAttemptAt: c.status === 'retrying' ? (c.dueAt ?? null) : null,
      source: c.source,
      actor: c.actor,
      createdAt: c.createdAt,
      updatedAt: c.updatedAt,
      appliedAt: c.appliedAt ?? null,
    };
  }

  const changes = {
    /**
     * One SBC's changes (one partition), or every SBC's one after another: the continuation token
     * carries the SBC it stopped in.
     */
    async list(options: {
      status?: ChangeRow['status'];
      sbcId?: string;
      pageSize?: number;
      continuationToken?: string;
    }) {
      const pageSize = options.pageSize ?? 100;
      const filter = options.status ? odata`status eq ${options.status}` : undefined;
      let ids: string[];
      if (options.sbcId) ids = [options.sbcId];
      else {
        ids = [];
        for await (const s of repos.sbcs.listAll({ partitionKey: SBC_PARTITION })) ids.push(s.value.id);
      }
      let cursor: { sbc: string; token?: string } | undefined;
      if (options.continuationToken) {
        try {
          cursor = JSON.parse(Buffer.from(options.continuationToken, 'base64url').toString('utf8')) as {
            sbc: string;
            token?: string;
          };
        } catch {
          throw new ValidationError('The continuation token is not valid.', [
            { field: 'continuationToken', message: 'not ours' },
          ]);
        }
      }
      const items: ChangeView[] = [];
      let start = cursor ? ids.indexOf(cursor.sbc) : 0;
      if (start < 0) start = ids.findIndex((id) => id > (cursor?.sbc ?? ''));
      if (start < 0) return { items, continuationToken: null };
      let token = cursor?.token;
      for (let i = start; i < ids.length; i++) {
        const page: Page<ChangeRow> = await repos.changes.list({
          partitionKey: tableKey(ids[i] ?? ''),
          ...(filter ? { filter } : {}),
          pageSize: pageSize - items.length,
          ...(token ? { continuationToken: token } : {}),
        });
        items.push(...page.items.map((c) => changeView(c.value)));
        token = undefined;
        const next = page.continuationToken
          ? { sbc: ids[i] ?? '', token: page.continuationToken }
          : i + 1 < ids.length
            ? { sbc: ids[i + 1] ?? '' }
            : undefined;
        if (items.length >= pageSize || !next) {
          return {
            items,
            continuationToken: next ? Buffer.from(JSON.stringify(next)).toString('base64url') : null,
          };
        }
      }
      return { items, continuationToken: null };
    },
    async get(sbcId: string, id: string) {
      const row = await repos.changes.get(tableKey(sbcId), id);
      if (!row) throw new NotFoundError('SBC change', `${sbcId}/${id}`);
      return changeView(row.value);
    },
    /** A failed change back in the queue (after the operator fixed the device, the template or the password). */
    async retry(sbcId: string, id: string, actor: string) {
      const current = await repos.changes.get(tableKey(sbcId), id);
      if (!current) throw new NotFoundError('SBC change', `${sbcId}/${id}`);
      if (current.value.status !== 'failed')
        throw new ConflictError(`Change '${id}' is ${current.value.status}, not failed.`);
      const { error: _e, effects: _f, ...rest } = current.value;
      const saved = await repos.changes.update(
        {
          ...rest,
          status: 'queued',
          attempts: 0,
          dueAt: addSeconds(deps.now(), STRANDED_SECONDS),
          updatedAt: nowIso(),
        },
        current.etag,
      );
      await mailbox.post(sbcId, { id: `${id}#retry#${Date.now()}`, payload: { changeId: id } });
      await audit.record({
        actor,
        action: 'sbc.change.retried',
        customerId: saved.value.customerId,
        target: `${sbcId}/${id}`,
      });
      return changeView(saved.value);
    },
  };

  // ---- The worker ----------------------------------------------------------------------------------

  async function writeChanges(rows: { value: ChangeRow; etag: string }[]): Promise<Stored<ChangeRow>[]> {
    // Back-off due times are indexed first (a transaction does not go through the WorkTable).
    await Promise.all(
      rows
        .filter((r) => r.value.status === 'retrying' && r.value.dueAt)
        .map((r) =>
          deps.jobs.due.mark(
            repos.changes.kind,
            { partitionKey: tableKey(r.value.sbcId), rowKey: r.value.id },
            r.value.dueAt ?? '',
          ),
        ),
    );
    const out: Stored<ChangeRow>[] = [];
    for (let i = 0; i < rows.length; i += 100) {
      const chunk = rows.slice(i, i + 100);
      await repos.changes.transaction(
        chunk.map((r) => ({ op: 'update' as const, value: r.value, etag: r.etag })),
      );
      // The transaction does not give new ETags: read the chunk's rows back when they are needed again.
      out.push(...chunk.map((r) => ({ value: r.value, etag: '' })));
    }
    return out;
  }

  async function readOpen(sbcId: string): Promise<Stored<ChangeRow>[]> {
    const open: Stored<ChangeRow>[] = [];
    const filter = odata`status eq ${'queued'} or status eq ${'pushing'} or status eq ${'retrying'}`;
    for await (const c of repos.changes.listAll({ partitionKey: tableKey(sbcId), filter: `(${filter})` }))
      open.push(c);
    return open.sort((a, b) => a.value.id.localeCompare(b.value.id));
  }

  /**
   * Everything open for one SBC, as one incremental script. Called only by the holder of the SBC's
   * mailbox lease, so two pushes to one SBC never interleave. Each change is marked `pushing` with
   * the push's id before the upload; what the device has is read before rendering and after the
   * answer, so a change whose push landed but whose record did not (storage failed in between) is
   * found applied on the device at the next run and never pushed twice.
   */
  async function pushPending(sbcId: string, log: Log): Promise<PushOutcome> {
    const open = await readOpen(sbcId);
    if (open.length === 0) return { outcome: 'nothing', changes: 0, pushed: false };
    const at = nowIso();
    const sbc = await repos.sbcs.get(SBC_PARTITION, tableKey(sbcId));
    const siteRows = new Map<string, SiteRow>();
    for (const id of new Set(open.map((c) => c.value.siteId))) {
      const s = await repos.sites.get(tableKey(sbcId), tableKey(id));
      if (s) siteRows.set(id, s.value);
    }
    const orphaned = open.filter((c) => !sbc || !siteRows.has(c.value.siteId));
    if (orphaned.length > 0) {
      await writeChanges(
        orphaned.map((c) => ({
          value: {
            ...withoutDue(c.value),
            status: 'failed',
            error: sbc ? 'The site no longer exists.' : 'The SBC no longer exists.',
            updatedAt: at,
          },
          etag: c.etag,
        })),
      );
    }
    if (!sbc) return { outcome: 'failed', changes: open.length, pushed: false };
    const live = open.filter((c) => siteRows.has(c.value.siteId));
    if (live.length === 0) return { outcome: 'failed', changes: open.length, pushed: false };

    // 1. The attempt is on record before anything reaches the device.
    const pushId = randomUUID();
    await writeChanges(
      live.map((c) => ({
        value: { ...c.value, status: 'pushing', pushId, attempts: c.value.attempts + 1, updatedAt: at },
        etag: c.etag,
      })),
    );
    const marking = await readOpen(sbcId);
    const pending = marking.filter((c) => c.value.pushId === pushId);

    const client = await clientFor(sbc.value);
    let before: DeviceConfig;
    try {
      before = parseRunningConfig(await client.runningConfig());
    } catch (e) {
      return transient(pending, e instanceof Error ? e.message : String(e), log);
    }

    // 2. Render what the device does not have yet, site by site (a site whose render fails fails alone).
    const intents = coalesce(pending.map((c) => c.value));
    const sections = planSections(intents, siteRows, before);
    const rendered: string[] = [];
    const renderFailures = new Map<string, string>();
    const sources = new Map<TemplateName, string>();
    for (const section of sections) {
      const site = siteRows.get(section.siteId);
      if (!site || renderFailures.has(section.siteId)) continue;
      try {
        const source = sources.get(section.template) ?? (await templates.current(section.template)).source;
        sources.set(section.template, source);
        rendered.push(
          renderTemplate(
            section.template,
            source,
            siteContext(site, { ...section, ...(await carrierPasswordFor(site, section)) }),
          ),
        );
      } catch (e) {
        if (!(e instanceof RenderError)) throw e;
        renderFailures.set(section.siteId, e.message);
      }
    }
    const script = combineSections(rendered);

    // 3. The push, and what the device says.
    let answer: PushAnswer | undefined;
    if (script !== '') {
      answer = await client.pushIncremental(script);
      log.info('sbc_pushed', {
        sbcId,
        pushId,
        changes: pending.length,
        lines: script.split('\n').length,
        answer: answer.kind,
      });
      await audit.record({
        actor: 'system:sbc-worker',
        action: 'sbc.push',
        target: sbcId,
        details: {
          pushId,
          answer: answer.kind,
          changes: pending.length,
          changeIds: pending.slice(0, 50).map((c) => c.value.id),
          ...(answer.kind === 'refused' ? { output: maskSecrets(answer.output).slice(-2000) } : {}),
        },
      });
      if (answer.kind === 'busy' || answer.kind === 'unreachable' || answer.kind === 'failed') {
        const reason =
          answer.kind === 'busy'
            ? `The SBC is busy: ${answer.description}`
            : answer.kind === 'unreachable'
              ? `The SBC did not answer: ${answer.error}`
              : `The SBC answered ${answer.status}: ${answer.description}`;
        return transient(pending, reason, log);
      }
    }

    // 4. What the device has now decides each change's fate, whatever the answer said.
    let after = before;
    if (answer) {
      try {
        after = parseRunningConfig(await client.runningConfig());
      } catch (e) {
        // Not knowing what the device has, decide nothing: the next run reads it and renders only
        // what is missing (nothing, if this push landed).
        return transient(
          pending,
          `pushed, but the result could not be read: ${e instanceof Error ? e.message : String(e)}`,
          log,
        );
      }
    }
    const refusal = answer?.kind === 'refused' ? refusalReason(answer.output, answer.description) : undefined;
    const done = nowIso();
    const results = pending.map((c) => {
      const site = siteRows.get(c.value.siteId)!;
      const effects = effectsOf(c.value, site, after);
      const ok =
        !renderFailures.has(site.id) &&
        isEffective(
          c.value,
          effects,
          pending.map((p) => p.value),
        );
      const base = withoutDue(c.value);
      const value: ChangeRow = ok
        ? { ...base, status: 'applied', effects, appliedAt: done, updatedAt: done }
        : {
            ...base,
            status: 'failed',
            effects,
            updatedAt: done,
            error:
              renderFailures.get(site.id) ??
              (refusal
                ? `The SBC refused the script: ${refusal}. Applied: ${list(effects, true)}. Not applied: ${list(effects, false)}.`
                : `The SBC took the script but does not have: ${list(effects, false)}.`),
          };
      return { value, etag: c.etag };
    });
    await writeChanges(results);
    await updateSites(
      results.map((r) => r.value),
      siteRows,
    );
    const failed = results.filter((r) => r.value.status === 'failed').length;
    return {
      outcome: !answer
        ? failed
          ? 'failed'
          : 'already-applied'
        : refusal
          ? 'refused'
          : failed
            ? 'failed'
            : 'applied',
      changes: pending.length,
      pushed: answer !== undefined,
    };
  }

  const list = (effects: { what: string; present: boolean }[], present: boolean) =>
    effects
      .filter((e) => e.present === present)
      .map((e) => e.what)
      .join(', ') || 'nothing';

  function refusalReason(output: string, description: string): string {
    const line = output.split('\n').find((l) => /error/i.test(l));
    return maskSecrets(line ?? description).slice(0, 300);
  }

  function withoutDue(c: ChangeRow): ChangeRow {
    const { dueAt: _d, ...rest } = c;
    return rest;
  }

  async function carrierPasswordFor(site: SiteRow, section: Section): Promise<{ carrierPassword?: string }> {
    if (section.template !== 'sbc-scenario7' || !site.carrier) return {};
    const value = await secrets.get(site.carrier.passwordSecret);
    if (value === undefined) throw new RenderError(`No carrier password in Key Vault for site ${site.id}.`);
    return { carrierPassword: value };
  }

  async function transient(pending: Stored<ChangeRow>[], reason: string, log: Log): Promise<PushOutcome> {
    const at = deps.now();
    let parked = 0;
    await writeChanges(
      pending.map((c) => {
        if (c.value.attempts >= config.maxAttempts) {
          parked++;
          return {
            value: {
              ...withoutDue(c.value),
              status: 'failed',
              error: `${reason} (gave up after ${c.value.attempts} attempts)`,
              updatedAt: at.toISOString(),
            },
            etag: c.etag,
          };
        }
        const delay = backoffSeconds(c.value.attempts, config.retryBaseSeconds, {
          capSeconds: config.retryCapSeconds,
        });
        return {
          value: {
            ...c.value,
            status: 'retrying',
            error: reason,
            dueAt: addSeconds(at, delay),
            updatedAt: at.toISOString(),
          },
          etag: c.etag,
        };
      }),
    );
    log.warn('sbc_push_deferred', {
      sbcId: pending[0]?.value.sbcId,
      changes: pending.length,
      parked,
      reason: reason.slice(0, 200),
    });
    return {
      outcome: parked === pending.length ? 'failed' : 'retrying',
      changes: pending.length,
      pushed: false,
    };
  }

  async function updateSites(results: ChangeRow[], siteRows: Map<string, SiteRow>): Promise<void> {
    for (const [siteId, site] of siteRows) {
      const mine = results.filter((r) => r.siteId === siteId);
      if (mine.length === 0) continue;
      const last = mine.filter((r) => r.kind === 'deploy' || r.kind === 'cleanup').at(-1);
      const failed = mine.some((r) => r.status === 'failed');
      let state: SiteRow['sbcState'] | undefined;
      if (last?.kind === 'cleanup') state = last.status === 'applied' ? 'removed' : 'removing';
      else if (last?.kind === 'deploy') state = last.status === 'applied' ? 'deployed' : 'failed';
      else if (failed && site.sbcState === 'deployed') state = 'deployed';
      if (!state || state === site.sbcState) continue;
      const next = state;
      await repos.sites.mutate(tableKey(site.sbcId), tableKey(siteId), (s) =>
        s.sbcState === 'removed' && next !== 'removed'
          ? undefined
          : { ...s, sbcState: next, updatedAt: nowIso() },
      );
    }
  }

  // ---- Templates -----------------------------------------------------------------------------------

  function asTemplateName(name: string): TemplateName {
    if (!(templateNames as string[]).includes(name)) throw new NotFoundError('Template', name);
    return name as TemplateName;
  }

  const defaultVersion = (name: TemplateName): TemplateView => ({
    name,
    language: languageOf(name),
    version: 1,
    source: defaultTemplates[name],
    savedAt: null,
    savedBy: 'default',
    comment: 'Shipped default (UMP-365 8.0.300 syntax)',
  });

  const templates = {
    async versions(nameIn: string): Promise<TemplateView[]> {
      const name = asTemplateName(nameIn);
      const out: TemplateView[] = [];
      const filter = odata`RowKey gt ${`${name}|`} and RowKey lt ${`${name}|~`}`;
      for await (const t of repos.templates.listAll({ partitionKey: TEMPLATE_PARTITION, filter })) {
        out.push({
          name,
          language: languageOf(name),
          version: t.value.version,
          source: t.value.source,
          savedAt: t.value.savedAt,
          savedBy: t.value.savedBy,
          comment: t.value.comment ?? null,
        });
      }
      return [...out, defaultVersion(name)];
    },
    async current(name: TemplateName): Promise<TemplateView> {
      const filter = odata`RowKey gt ${`${name}|`} and RowKey lt ${`${name}|~`}`;
      const page = await repos.templates.list({ partitionKey: TEMPLATE_PARTITION, filter, pageSize: 1 });
      const t = page.items[0]?.value;
      return t
        ? {
            name,
            language: languageOf(name),
            version: t.version,
            source: t.source,
            savedAt: t.savedAt,
            savedBy: t.savedBy,
            comment: t.comment ?? null,
          }
        : defaultVersion(name);
    },
    async list() {
      return Promise.all(
        templateNames.map(async (name) => {
          const all = await templates.versions(name);
          const { source: _s, ...head } = all[0]!;
          return { ...head, versions: all.length };
        }),
      );
    },
    async get(nameIn: string, version?: number): Promise<TemplateView> {
      const name = asTemplateName(nameIn);
      if (version === undefined) return templates.current(name);
      if (version === 1) return defaultVersion(name);
      const row = await repos.templates.get(TEMPLATE_PARTITION, templateRowKey(name, version));
      if (!row) throw new NotFoundError('Template version', `${name} v${version}`);
      return {
        name,
        language: languageOf(name),
        version,
        source: row.value.source,
        savedAt: row.value.savedAt,
        savedBy: row.value.savedBy,
        comment: row.value.comment ?? null,
      };
    },
    /** A new version, refused (422, with each problem) when it does not compile or names what the catalogue does not know. */
    async save(nameIn: string, input: unknown, actor: string): Promise<TemplateView> {
      const name = asTemplateName(nameIn);
      const v = parseWith(templateSaveSchema, input);
      const problems = checkTemplate(name, v.source);
      if (problems.length > 0)
        throw new UnprocessableError(`Template ${name} cannot be saved.`, { problems });
      const current = await templates.current(name);
      const version = current.version + 1;
      try {
        await repos.templates.create({
          name,
          version,
          source: v.source,
          savedAt: nowIso(),
          savedBy: actor,
          ...(v.comment ? { comment: v.comment } : {}),
        });
      } catch (e) {
        if (e instanceof ConflictError)
          throw new ConflictError(
            `Version ${version} of ${name} was just saved by someone else; reload and retry.`,
          );
        throw e;
      }
      await audit.record({ actor, action: 'sbc.template.saved', target: `${name} v${version}` });
      return templates.get(name, version);
    },
    async diff(nameIn: string, from: number, to: number) {
      const [a, b] = await Promise.all([templates.get(nameIn, from), templates.get(nameIn, to)]);
      return {
        name: a.name,
        from,
        to,
        diff: unifiedDiff(a.source, b.source, `${a.name} v${from}`, `${a.name} v${to}`),
      };
    },
    /** The script a deploy of this site would push (carrier password masked), for the operator to read. */
    async preview(nameIn: string, sbcId: string, siteId: string, version?: number) {
      const name = asTemplateName(nameIn);
      const site = (await siteRow(sbcId, siteId)).value;
      const t = await templates.get(name, version);
      const section: Section = {
        template: name,
        siteId,
        rules: site.prefixes,
        toAdd: site.prefixes,
        toRemove: site.prefixes.map((p, i) => ({
          index: i,
          name: site.ruleName,
          prefix: p.prefix,
          tag: p.tag,
        })),
      };
      try {
        const script = renderTemplate(
          name,
          t.source,
          siteContext(site, { ...section, ...(site.carrier ? { carrierPassword: 'PREVIEW' } : {}) }),
        );
        return { template: name, version: t.version, script: maskSecrets(script) };
      } catch (e) {
        if (e instanceof RenderError) throw new UnprocessableError(e.message);
        throw e;
      }
    },
  };

  // ---- Import -------------------------------------------------------------------------------------

  const importer = {
    /** Rules on the device no site of ours has: one entry per dial plan, rule name and tag. */
    async candidates(sbcId: string) {
      const sbc = await sbcRow(sbcId);
      const device = parseRunningConfig(await (await clientFor(sbc.value)).runningConfig());
      const known = new Set<string>();
      for (const s of await sitesOf(sbcId)) {
        if (s.sbcState === 'removed') continue;
        for (const p of s.prefixes)
          known.add(`${s.dialPlan}|${s.ruleName.toLowerCase()}|${p.tag.toLowerCase()}`);
      }
      const groups = new Map<string, { dialPlan: string; name: string; tag: string; prefixes: string[] }>();
      for (const [dialPlan, rules] of device.dialPlans) {
        for (const r of rules) {
          const key = `${dialPlan}|${r.name.toLowerCase()}|${r.tag.toLowerCase()}`;
          if (known.has(key)) continue;
          const g = groups.get(key) ?? { dialPlan, name: r.name, tag: r.tag, prefixes: [] };
          g.prefixes.push(r.prefix);
          groups.set(key, g);
        }
      }
      return { items: [...groups.values()] };
    },
    /** Chosen rules become customers (when new) and sites already deployed, without a push. */
    async import(sbcId: string, input: unknown, actor: string) {
      const v = parseWith(importInputSchema, input);
      const sbc = await sbcRow(sbcId);
      const device = parseRunningConfig(await (await clientFor(sbc.value)).runningConfig());
      const imported: SiteView[] = [];
      for (const [i, choice] of v.rules.entries()) {
        const rules = (device.dialPlans.get(choice.dialPlan) ?? []).filter(
          (r) =>
            r.name.toLowerCase() === choice.name.toLowerCase() &&
            r.tag.toLowerCase() === choice.tag.toLowerCase(),
        );
        if (rules.length === 0)
          throw new ValidationError('No such rule on the SBC.', [
            { field: `rules.${i}`, message: `${choice.dialPlan}/${choice.name}/${choice.tag}` },
          ]);
        const customerId = choice.customerId ?? choice.name;
        try {
          await deps.customers.get(customerId);
        } catch (e) {
          if (!(e instanceof NotFoundError)) throw e;
          await deps.customers.create(
            { id: customerId, name: choice.customerName ?? customerId, adminEmail: choice.adminEmail },
            actor,
          );
        }
        const id = `${customerId.toLowerCase()}-${i}-${randomBytes(2).toString('hex')}`.slice(0, 40);
        const trunk = /^[a-z0-9.-]+\.[a-z]+$/i.test(choice.tag)
          ? choice.tag.toLowerCase()
          : deriveTrunkFqdn(customerId, config.customerDomain);
        const at = nowIso();
        const row: SiteRow = {
          sbcId,
          id,
          customerId,
          configuration: choice.configuration,
          trunkFqdn: trunk,
          ruleName: choice.name,
          dialPlan: choice.dialPlan,
          carrierId: choice.carrierId,
          prefixes: rules.map((r) => ({ prefix: r.prefix, tag: r.tag })),
          sbcState: 'deployed',
          microsoftState: 'manual-step-pending',
          createdAt: at,
          updatedAt: at,
        };
        await repos.sitesByCustomer.upsert({ customerKey: customerId.toLowerCase(), sbcId, siteId: id });
        imported.push(siteView((await repos.sites.create(row)).value));
        await audit.record({
          actor,
          action: 'sbc.site.imported',
          customerId,
          target: `${sbcId}/${id}`,
          details: { rules: rules.length },
        });
      }
      return { items: imported };
    },
  };

  // ---- Cancellations ---------------------------------------------------------------------------------

  /** Takes the cleanups orders recorded on cancel: each of the customer's sites gets a cleanup change. */
  async function consumeCleanups(log: Log): Promise<{ customers: number; sites: number }> {
    let customers = 0;
    let siteCount = 0;
    let token: string | undefined;
    do {
      const page = await deps.cleanups.list('sbc', {
        pageSize: 100,
        ...(token ? { continuationToken: token } : {}),
      });
      for (const { value } of page.items) {
        for await (const entry of repos.sitesByCustomer.listAll({
          partitionKey: tableKey(value.customerKey),
        })) {
          const site = await repos.sites.get(tableKey(entry.value.sbcId), tableKey(entry.value.siteId));
          if (!site || site.value.customerId.toLowerCase() !== value.customerKey) continue;
          await sites.remove(entry.value.sbcId, entry.value.siteId, `orders:${value.orderEventId}`, 'order');
          siteCount++;
        }
        await deps.cleanups.complete('sbc', value.customerKey);
        customers++;
        log.info('sbc_cleanup_taken', { customerKey: value.customerKey, orderEventId: value.orderEventId });
      }
      token = page.continuationToken;
    } while (token);
    return { customers, sites: siteCount };
  }

  return {
    mailbox,
    sbcs,
    sites,
    changes,
    templates,
    importer,
    consumeCleanups,
    /** The SBC worker: drains the SBC's mailbox if this run can hold its lease. */
    async apply(sbcId: string, owner: string, log: Log): Promise<DrainResult & { pushes: number }> {
      let pushes = 0;
      let lastPushEnded = 0;
      const result = await mailbox.drain(
        sbcId,
        owner,
        async (key) => {
          // While changes keep arriving, this drain keeps the SBC: at most one push per quiet window,
          // each taking everything pending by then (the first waited its window in the queue).
          const wait = lastPushEnded + config.quietSeconds * 1000 - Date.now();
          if (lastPushEnded > 0 && wait > 0) await new Promise((r) => setTimeout(r, wait));
          const r = await pushPending(key, log);
          if (r.pushed) {
            pushes++;
            lastPushEnded = Date.now();
          }
        },
        log,
      );
      return { ...result, pushes };
    },
    pushPending,
  };
}
