import { z } from 'zod';
import {
  carrierPassword,
  carrierUser,
  cliName,
  customerName,
  fqdn,
  ipv4,
  prefix,
  ruleName,
} from '../sbc/values';
import { templateNames } from '../sbc/templates';
import { changeKinds, changeStatuses, microsoftStates, sbcStates, siteConfigurations } from './model';

/**
 * What the API takes and answers, as zod schemas shared by the handlers and the OpenAPI document.
 * No view carries a password: they go to Key Vault on the way in and never come back.
 */
const sbcId = z.string().regex(/^[a-z0-9][a-z0-9-]{0,39}$/, 'lower-case letters, digits and "-"');
const address = z.union([fqdn, ipv4]);

export const sbcInputSchema = z.object({
  id: sbcId,
  name: z.string().min(1).max(100),
  fqdn: address,
  port: z.number().int().min(1).max(65535).optional(),
  natAddress: ipv4.optional(),
  https: z.boolean().default(true),
  adminUser: z
    .string()
    .min(1)
    .max(64)
    .regex(/^[^\s:]+$/, 'no spaces or colons'),
  adminPassword: z.string().min(1).max(128),
});
export const sbcPatchSchema = sbcInputSchema.omit({ id: true }).partial();

export const sbcViewSchema = z.object({
  id: z.string(),
  name: z.string(),
  fqdn: z.string(),
  port: z.number().nullable(),
  natAddress: z.string().nullable(),
  https: z.boolean(),
  adminUser: z.string(),
  counts: z.object({ sites: z.number(), sipAccounts: z.number(), rules: z.number() }),
  status: z
    .object({
      reachable: z.boolean(),
      operationalState: z.string().nullable(),
      versionID: z.string().nullable(),
      saveNeeded: z.boolean().nullable(),
      error: z.string().nullable(),
    })
    .nullable(),
  createdAt: z.string(),
  updatedAt: z.string(),
});
export type SbcView = z.infer<typeof sbcViewSchema>;

const prefixInput = z.union([prefix, z.object({ prefix, tag: z.string().optional() })]);
export const siteInputSchema = z.object({
  id: sbcId.optional(),
  customerId: customerName,
  configuration: z.enum(siteConfigurations),
  trunkFqdn: fqdn.optional(),
  ruleName: ruleName.optional(),
  dialPlan: cliName,
  carrierId: cliName,
  cacProfile: cliName.optional(),
  carrier: z
    .object({ userName: carrierUser, password: carrierPassword, hostName: fqdn, mainLine: carrierUser })
    .optional(),
  prefixes: z.array(prefixInput).max(500).default([]),
});
export type SiteInput = z.input<typeof siteInputSchema>;

export const prefixChangeSchema = z
  .object({ add: z.array(prefixInput).max(1000).default([]), remove: z.array(prefix).max(1000).default([]) })
  .refine((c) => c.add.length + c.remove.length > 0, 'add or remove at least one prefix');

export const siteViewSchema = z.object({
  sbcId: z.string(),
  id: z.string(),
  customerId: z.string(),
  configuration: z.enum(siteConfigurations),
  trunkFqdn: z.string(),
  ruleName: z.string(),
  dialPlan: z.string(),
  carrierId: z.string(),
  cacProfile: z.string().nullable(),
  carrierRegistration: z
    .object({ userName: z.string(), hostName: z.string(), mainLine: z.string() })
    .nullable(),
  prefixes: z.array(z.object({ prefix: z.string(), tag: z.string() })),
  sbcState: z.enum(sbcStates),
  microsoftState: z.enum(microsoftStates),
  createdAt: z.string(),
  updatedAt: z.string(),
});
export type SiteView = z.infer<typeof siteViewSchema>;

export const changeViewSchema = z.object({
  sbcId: z.string(),
  id: z.string(),
  siteId: z.string(),
  customerId: z.string(),
  kind: z.enum(changeKinds),
  prefixes: z.array(z.string()),
  status: z.enum(changeStatuses),
  attempts: z.number(),
  error: z.string().nullable(),
  effects: z.array(z.object({ what: z.string(), present: z.boolean() })).nullable(),
  nextAttemptAt: z.string().nullable(),
  source: z.string(),
  actor: z.string(),
  createdAt: z.string(),
  updatedAt: z.string(),
  appliedAt: z.string().nullable(),
});
export type ChangeView = z.infer<typeof changeViewSchema>;

export const changeQuerySchema = z.object({
  status: z.enum(changeStatuses).optional(),
  sbcId: z.string().optional(),
  pageSize: z.coerce.number().int().min(1).max(1000).default(100),
  continuationToken: z.string().optional(),
});

export const templateNameSchema = z.enum(templateNames as [string, ...string[]]);
export const templateSaveSchema = z.object({
  source: z
    .string()
    .min(1)
    .max(64 * 1024),
  comment: z.string().max(500).optional(),
});
export const templateViewSchema = z.object({
  name: z.string(),
  language: z.enum(['cli', 'powershell']),
  version: z.number(),
  source: z.string(),
  savedAt: z.string().nullable(),
  savedBy: z.string(),
  comment: z.string().nullable(),
});
export type TemplateView = z.infer<typeof templateViewSchema>;
export const templateSummarySchema = templateViewSchema
  .omit({ source: true })
  .extend({ versions: z.number() });
export const previewInputSchema = z.object({
  sbcId: z.string().min(1),
  siteId: z.string().min(1),
  version: z.number().int().positive().optional(),
});
export const scriptViewSchema = z.object({ template: z.string(), version: z.number(), script: z.string() });
export const diffViewSchema = z.object({
  name: z.string(),
  from: z.number(),
  to: z.number(),
  diff: z.string(),
});

export const importableRuleSchema = z.object({
  dialPlan: z.string(),
  index: z.number(),
  name: z.string(),
  prefix: z.string(),
  tag: z.string(),
});
export const importInputSchema = z.object({
  rules: z
    .array(
      z.object({
        dialPlan: cliName,
        name: ruleName,
        tag: z.string().max(253),
        customerId: customerName.optional(),
        /** For a customer that does not exist yet. */
        customerName: z.string().min(1).max(200).optional(),
        adminEmail: z.string().email().optional(),
        configuration: z.enum(siteConfigurations).default('sip-trunk'),
        carrierId: cliName,
      }),
    )
    .min(1)
    .max(100),
});

export { pageOf } from '../http/paging';
