import { z } from 'zod';

/**
 * The dial-plan capability's rows: the provider's SBCs, the customers' sites on them, the changes
 * queued for each SBC, and the versions of the script templates. No secret is a field here: the SBC
 * admin password and carrier passwords are Key Vault secrets, named by `passwordSecret`.
 */
export const sbcRowSchema = z.object({
  id: z.string(),
  name: z.string(),
  /** The device's FQDN (or address) the REST API is reached at. */
  fqdn: z.string(),
  port: z.number().int().optional(),
  natAddress: z.string().optional(),
  https: z.boolean(),
  adminUser: z.string(),
  passwordSecret: z.string(),
  createdAt: z.string(),
  updatedAt: z.string(),
});
export type SbcRow = z.infer<typeof sbcRowSchema>;

export const siteConfigurations = ['sip-trunk', 'ip-pbx', 'byoc'] as const;
export const sbcStates = ['pending', 'deploying', 'deployed', 'failed', 'removing', 'removed'] as const;
export const microsoftStates = ['manual-step-pending', 'done'] as const;

export const prefixRuleSchema = z.object({ prefix: z.string(), tag: z.string() });
export type PrefixRule = z.infer<typeof prefixRuleSchema>;

export const siteRowSchema = z.object({
  sbcId: z.string(),
  id: z.string(),
  customerId: z.string(),
  configuration: z.enum(siteConfigurations),
  /** The customer's derived trunk FQDN: its Online PSTN gateway in Teams. */
  trunkFqdn: z.string(),
  /** The dial-plan rules' name on the device (≤ 15 characters), unique per SBC. */
  ruleName: z.string(),
  dialPlan: z.string(),
  /** The carrier's proxy set and IP profile on the SBC. */
  carrierId: z.string(),
  cacProfile: z.string().optional(),
  carrier: z
    .object({ userName: z.string(), hostName: z.string(), mainLine: z.string(), passwordSecret: z.string() })
    .optional(),
  /** The prefixes the site should have (the device catches up through changes). */
  prefixes: z.array(prefixRuleSchema),
  sbcState: z.enum(sbcStates),
  microsoftState: z.enum(microsoftStates),
  createdAt: z.string(),
  updatedAt: z.string(),
});
export type SiteRow = z.infer<typeof siteRowSchema>;

export const changeKinds = ['deploy', 'cleanup', 'add-prefixes', 'remove-prefixes'] as const;
export type ChangeKind = (typeof changeKinds)[number];
export const changeStatuses = ['queued', 'pushing', 'retrying', 'applied', 'failed'] as const;
export type ChangeStatus = (typeof changeStatuses)[number];
export const openStatuses: ChangeStatus[] = ['queued', 'pushing', 'retrying'];

export const effectSchema = z.object({ what: z.string(), present: z.boolean() });
export type Effect = z.infer<typeof effectSchema>;

export const changeRowSchema = z.object({
  sbcId: z.string(),
  /** Time-ordered: the worker applies an SBC's changes in this order. */
  id: z.string(),
  siteId: z.string(),
  customerId: z.string(),
  kind: z.enum(changeKinds),
  prefixes: z.array(prefixRuleSchema),
  status: z.enum(changeStatuses),
  attempts: z.number().int(),
  /** Set before each upload: a change found "pushing" was maybe applied, and is checked on the device. */
  pushId: z.string().optional(),
  dueAt: z.string().optional(),
  error: z.string().optional(),
  /** After a push: each thing the change does, and whether the device has it. */
  effects: z.array(effectSchema).optional(),
  source: z.enum(['api', 'order']),
  actor: z.string(),
  createdAt: z.string(),
  updatedAt: z.string(),
  appliedAt: z.string().optional(),
});
export type ChangeRow = z.infer<typeof changeRowSchema>;

export const templateVersionSchema = z.object({
  name: z.string(),
  version: z.number().int().positive(),
  source: z.string(),
  savedAt: z.string(),
  savedBy: z.string(),
  comment: z.string().optional(),
});
export type TemplateVersion = z.infer<typeof templateVersionSchema>;
