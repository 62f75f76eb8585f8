import { z } from 'zod';
import { changeKinds, changeStatuses, itemResultSchema, type ChangeRow } from './model';

/** What the admin API shows of a queued change. */
export const changeViewSchema = z.object({
  id: z.string(),
  userId: z.string(),
  kind: z.enum(changeKinds),
  change: z.object({
    department: z.string().nullable().optional(),
    usageLocation: z.string().nullable().optional(),
    addLicenses: z.array(z.string()).optional(),
    removeLicenses: z.array(z.string()).optional(),
    phoneNumber: z.string().optional(),
  }),
  status: z.enum(changeStatuses),
  attempts: z.number().int(),
  /** The earliest the change goes (quiet period, Retry-After, next poll); null once finished. */
  notBefore: z.string().nullable(),
  result: itemResultSchema.nullable(),
  actor: z.string(),
  createdAt: z.string(),
  updatedAt: z.string(),
  finishedAt: z.string().nullable(),
});
export type ChangeView = z.infer<typeof changeViewSchema>;

export function viewChange(c: ChangeRow): ChangeView {
  const finished = c.status === 'succeeded' || c.status === 'failed';
  return {
    id: c.id,
    userId: c.userId,
    kind: c.kind,
    change: {
      ...(c.profile ?? {}),
      ...(c.kind === 'licences'
        ? { addLicenses: c.addLicenses ?? [], removeLicenses: c.removeLicenses ?? [] }
        : {}),
      ...(c.phoneNumber ? { phoneNumber: c.phoneNumber } : {}),
    },
    status: c.status,
    attempts: c.attempts,
    notBefore: finished ? null : c.notBefore,
    result: c.result ?? null,
    actor: c.actor,
    createdAt: c.createdAt,
    updatedAt: c.updatedAt,
    finishedAt: c.finishedAt ?? null,
  };
}

export const changeListQuerySchema = z
  .object({
    status: z.enum(changeStatuses).optional(),
    pageSize: z.coerce.number().int().min(1).max(500).optional(),
    continuationToken: z.string().max(2000).optional(),
  })
  .strict();

export const queuedAnswerSchema = z.object({
  customerId: z.string(),
  ids: z.array(z.string()),
  notBefore: z.string(),
  links: z.object({ changes: z.string(), replicate: z.string() }),
});

export const replicateAnswerSchema = z.object({
  customerId: z.string(),
  open: z.number().int(),
  links: z.object({ changes: z.string() }),
});
