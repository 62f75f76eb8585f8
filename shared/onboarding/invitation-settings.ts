import { z } from 'zod';
import type { Config } from '../config';
import { parseWith } from '../http/requests';
import type { AuditLog } from '../storage/audit';
import type { StorageClients } from '../storage/clients';
import { TableRepository } from '../storage/table-repository';
import { checkTemplate } from './invitation-template';
import { adminEmailSchema } from './validation';

/**
 * The provider's invitation settings (UMP-365 "System > Invitation Settings"): the e-mail
 * templates, the public portal address, who the mail is from and how long a link stays valid.
 * Stored as one row; until an operator saves them, the defaults below apply.
 */
export const DEFAULT_SUBJECT = 'Action needed: connect {{CustomerName}} to {{ProviderName}}';

export const DEFAULT_BODY = `Dear administrator of {{CustomerName}},

{{ProviderName}} is ready to set up your Microsoft 365 and Teams calling service ({{CustomerId}}). To let us manage it for you, please approve our access to your Microsoft 365 tenant:

{{InvitationUrl}}

What to expect:
- You will sign in with your own Microsoft 365 account on Microsoft's sign-in page. Multi-factor authentication works as usual.
- Please sign in as a Global Administrator or a Teams Communications Administrator of your organization.
- Microsoft will show you the permissions we ask for; you approve them on behalf of your organization.

We never see, ask for or store your password. You can withdraw this approval at any time in the Microsoft Entra admin center (Enterprise applications); the service stops when you do.

This link works once and expires on {{ExpiresAt}}. If it has expired, reply to this e-mail and we will send a new one.

Thank you,
{{ProviderName}}`;

const settingsSchema = z.object({
  subjectTemplate: z.string().trim().min(1, 'is required').max(500, 'at most 500 characters'),
  bodyTemplate: z.string().min(1, 'is required').max(20_000, 'at most 20000 characters'),
  portalUrl: z
    .string()
    .url()
    .refine(
      (u) => /^https:\/\//.test(u) || /^http:\/\/(localhost|127\.0\.0\.1)(:\d+)?(\/|$)/.test(u),
      'must be https',
    )
    .transform((u) => u.replace(/\/+$/, '')),
  providerName: z.string().trim().min(1, 'is required').max(100, 'at most 100 characters'),
  replyTo: adminEmailSchema.optional(),
  validityDays: z.number().int().min(1, 'at least 1 day').max(30, 'at most 30 days'),
});
export type InvitationSettings = z.infer<typeof settingsSchema> & { updatedAt?: string; updatedBy?: string };

const storedSchema = settingsSchema.extend({
  id: z.string(),
  updatedAt: z.string(),
  updatedBy: z.string(),
});

export interface InvitationSettingsService {
  get(): Promise<InvitationSettings>;
  /** Replaces the given fields; templates with unknown placeholders are refused before anything is saved. */
  update(changes: unknown, actor: string): Promise<InvitationSettings>;
}

export function createInvitationSettings(deps: {
  storage: StorageClients;
  config: Config;
  audit: AuditLog;
  now?: () => Date;
}): InvitationSettingsService {
  const repo = new TableRepository(deps.storage.table('settings'), {
    entityName: 'invitation settings',
    schema: storedSchema,
    keys: (s) => ({ partitionKey: 'settings', rowKey: s.id }),
  });
  const defaults = (): InvitationSettings => ({
    subjectTemplate: DEFAULT_SUBJECT,
    bodyTemplate: DEFAULT_BODY,
    portalUrl: `${deps.config.portal.publicBaseUrl}/authenticate`,
    providerName: deps.config.provider.name,
    ...(deps.config.provider.notifyAddress ? { replyTo: deps.config.provider.notifyAddress } : {}),
    validityDays: 7,
  });
  const read = async () => {
    const stored = await repo.get('settings', 'invitation');
    if (!stored) return { settings: defaults(), etag: undefined };
    const { id: _id, ...settings } = stored.value;
    return { settings, etag: stored.etag };
  };
  return {
    async get() {
      return (await read()).settings;
    },
    async update(changes, actor) {
      const partial = parseWith(settingsSchema.partial().strict(), changes, 'invitation settings');
      if (partial.subjectTemplate !== undefined) checkTemplate('subjectTemplate', partial.subjectTemplate);
      if (partial.bodyTemplate !== undefined) checkTemplate('bodyTemplate', partial.bodyTemplate);
      const { settings, etag } = await read();
      const next = {
        ...settings,
        ...partial,
        id: 'invitation',
        updatedAt: (deps.now ?? (() => new Date()))().toISOString(),
        updatedBy: actor,
      };
      const saved = etag ? await repo.update(next, etag) : await repo.create(next);
      await deps.audit.record({
        actor,
        action: 'invitation-settings.updated',
        details: { fields: Object.keys(partial) },
      });
      const { id: _id, ...result } = saved.value;
      return result;
    },
  };
}
