import { z } from 'zod';
import { retryAfterMs } from '../rules';
import { openStatuses, type ChangeRow, type ChangeStatus, type ItemResult } from './model';

/** The pure decisions of changes back (unit-tested): input, batching, what an answer means, timing. */

/** ISO 3166-1 alpha-2: the codes Microsoft's `usageLocation` takes. */
const ISO_3166_ALPHA2 = new Set(
  (
    'AD AE AF AG AI AL AM AO AQ AR AS AT AU AW AX AZ BA BB BD BE BF BG BH BI BJ BL BM BN BO BQ BR BS BT BV BW ' +
    'BY BZ CA CC CD CF CG CH CI CK CL CM CN CO CR CU CV CW CX CY CZ DE DJ DK DM DO DZ EC EE EG EH ER ES ET FI ' +
    'FJ FK FM FO FR GA GB GD GE GF GG GH GI GL GM GN GP GQ GR GS GT GU GW GY HK HM HN HR HT HU ID IE IL IM IN ' +
    'IO IQ IR IS IT JE JM JO JP KE KG KH KI KM KN KP KR KW KY KZ LA LB LC LI LK LR LS LT LU LV LY MA MC MD ME ' +
    'MF MG MH MK ML MM MN MO MP MQ MR MS MT MU MV MW MX MY MZ NA NC NE NF NG NI NL NO NP NR NU NZ OM PA PE PF ' +
    'PG PH PK PL PM PN PR PS PT PW PY QA RE RO RS RU RW SA SB SC SD SE SG SH SI SJ SK SL SM SN SO SR SS ST SV ' +
    'SX SY SZ TC TD TF TG TH TJ TK TL TM TN TO TR TT TV TW TZ UA UG UM US UY UZ VA VC VE VG VI VN VU WF WS YE ' +
    'YT ZA ZM ZW'
  ).split(' '),
);

const guid = z
  .string()
  .regex(/^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$/, 'must be a GUID')
  .transform((s) => s.toLowerCase());

/** E.164 (`+` and up to 15 digits), optionally `;ext=` as Teams writes extensions. */
export const E164 = /^\+[1-9]\d{6,14}(;ext=\d{1,10})?$/;

export const changeInputSchema = z
  .object({
    userId: guid,
    department: z.string().trim().min(1).max(64).nullable().optional(),
    usageLocation: z
      .string()
      .refine((v) => ISO_3166_ALPHA2.has(v), 'must be an ISO 3166-1 alpha-2 country code (upper case)')
      .nullable()
      .optional(),
    addLicenses: z.array(guid).max(20).optional(),
    removeLicenses: z.array(guid).max(20).optional(),
    phoneNumber: z.string().regex(E164, 'must be an E.164 number, e.g. +14255551000').optional(),
  })
  .strict()
  .refine(
    (c) =>
      c.department !== undefined ||
      c.usageLocation !== undefined ||
      (c.addLicenses?.length ?? 0) > 0 ||
      (c.removeLicenses?.length ?? 0) > 0 ||
      c.phoneNumber !== undefined,
    { message: 'a change must set department, usageLocation, addLicenses, removeLicenses or phoneNumber' },
  )
  .refine((c) => !(c.addLicenses ?? []).some((s) => (c.removeLicenses ?? []).includes(s)), {
    message: 'a licence cannot be added and removed at once',
    path: ['removeLicenses'],
  });
export type ChangeInput = z.infer<typeof changeInputSchema>;

export const changesRequestSchema = z
  .object({ changes: z.array(changeInputSchema).min(1).max(100) })
  .strict();

/** One input becomes up to three rows, one per Graph write, in the order they must happen. */
export function rowsOf(
  input: ChangeInput,
  base: { customerId: string; actor: string; at: string; notBefore: string; idOf: (n: number) => string },
  start: number,
): ChangeRow[] {
  const rows: ChangeRow[] = [];
  const common = {
    customerId: base.customerId,
    userId: input.userId,
    status: 'queued' as const,
    attempts: 0,
    notBefore: base.notBefore,
    actor: base.actor,
    createdAt: base.at,
    updatedAt: base.at,
  };
  if (input.department !== undefined || input.usageLocation !== undefined) {
    rows.push({
      ...common,
      id: base.idOf(start + rows.length),
      kind: 'profile',
      profile: {
        ...(input.department !== undefined ? { department: input.department } : {}),
        ...(input.usageLocation !== undefined ? { usageLocation: input.usageLocation } : {}),
      },
    });
  }
  if ((input.addLicenses?.length ?? 0) + (input.removeLicenses?.length ?? 0) > 0) {
    rows.push({
      ...common,
      id: base.idOf(start + rows.length),
      kind: 'licences',
      addLicenses: input.addLicenses ?? [],
      removeLicenses: input.removeLicenses ?? [],
    });
  }
  if (input.phoneNumber !== undefined) {
    rows.push({
      ...common,
      id: base.idOf(start + rows.length),
      kind: 'number',
      phoneNumber: input.phoneNumber,
    });
  }
  return rows;
}

export const MAX_BATCH = 20;

export interface BatchRequestItem {
  id: string;
  method: 'GET' | 'PATCH' | 'POST';
  url: string;
  headers?: Record<string, string>;
  body?: unknown;
}

/** What an assignLicense sends: the SKUs to add (each with the service plans it leaves off) and remove. */
export interface LicenceWrite {
  add: { skuId: string; disabledPlans: string[] }[];
  remove: string[];
}

/** The Graph request a profile or licence change makes (a licence one: what is left to do, if known). */
export function requestOf(row: ChangeRow, itemId: string, licences?: LicenceWrite): BatchRequestItem {
  const user = `/users/${encodeURIComponent(row.userId)}`;
  const headers = { 'Content-Type': 'application/json' };
  if (row.kind === 'profile')
    return { id: itemId, method: 'PATCH', url: user, headers, body: { ...row.profile } };
  const write = licences ?? {
    add: (row.addLicenses ?? []).map((skuId) => ({ skuId, disabledPlans: [] })),
    remove: row.removeLicenses ?? [],
  };
  return {
    id: itemId,
    method: 'POST',
    url: `${user}/assignLicense`,
    headers,
    body: { addLicenses: write.add, removeLicenses: write.remove },
  };
}

export interface BatchPlan {
  items: BatchRequestItem[];
  rows: Map<string, ChangeRow>;
}

/**
 * Fully parallel `$batch` requests of at most 20 items (no `dependsOn`: Graph refuses a batch that is
 * neither fully parallel nor fully sequential, failing every item of it). A user's later change of the
 * same kind goes in a later request, so their order holds. Profile and licence writes are planned
 * separately (profiles first, see push.ts): a usage location must be set before a licence.
 */
export function planBatches(rows: ChangeRow[], request = requestOf): BatchPlan[] {
  const out: BatchPlan[] = [];
  const sorted = [...rows].filter((r) => r.kind !== 'number').sort((a, b) => a.id.localeCompare(b.id));
  for (const r of sorted) {
    // The first request after the user's last one that still has room.
    let from = 0;
    for (let i = out.length - 1; i >= 0; i--) {
      if ([...out[i]!.rows.values()].some((x) => x.userId === r.userId)) {
        from = i + 1;
        break;
      }
    }
    let plan = out.slice(from).find((p) => p.items.length < MAX_BATCH);
    if (!plan) {
      plan = { items: [], rows: new Map() };
      out.push(plan);
    }
    const itemId = String(plan.items.length + 1);
    plan.items.push(request(r, itemId));
    plan.rows.set(itemId, r);
  }
  return out;
}

export interface ItemAnswer {
  status: number;
  headers?: Record<string, string>;
  body?: unknown;
}

export type ItemOutcome =
  | { status: 'succeeded' }
  | { status: 'throttled'; retryAfterMs: number }
  | { status: 'retry' }
  | { status: 'failed'; code: string; message: string };

/** Reads a header of a batch item case-insensitively (Microsoft writes `Retry-After` or `retry-after`). */
export function headerOf(headers: Record<string, string> | undefined, name: string): string | undefined {
  const key = Object.keys(headers ?? {}).find((k) => k.toLowerCase() === name.toLowerCase());
  return key ? headers?.[key] : undefined;
}

export function graphError(body: unknown): { code: string; message: string } {
  const e = (body as { error?: { code?: unknown; message?: unknown } } | null)?.error;
  return {
    code: typeof e?.code === 'string' ? e.code.slice(0, 200) : 'unknown',
    message: typeof e?.message === 'string' ? e.message.slice(0, 500) : '',
  };
}

/** What one answer (a batch item's, or a request's) means for its change. */
export function outcomeOf(answer: ItemAnswer, now: number): ItemOutcome {
  const s = answer.status;
  if (s >= 200 && s < 300) return { status: 'succeeded' };
  if (s === 429 || s === 503)
    return {
      status: 'throttled',
      retryAfterMs: retryAfterMs(headerOf(answer.headers, 'retry-after'), now, 10_000),
    };
  if (s >= 500 || s === 401 || s === 408) return { status: 'retry' };
  return { status: 'failed', ...graphError(answer.body) };
}

export const resultOf = (answer: ItemAnswer, at: string): ItemResult => {
  const e = answer.status >= 400 ? graphError(answer.body) : undefined;
  return {
    status: answer.status,
    ...(e && e.code !== 'unknown' ? { code: e.code } : {}),
    ...(e?.message ? { message: e.message } : {}),
    at,
  };
};

/** A change's attempts before a transient failure becomes final. */
export const MAX_ATTEMPTS = 8;

/** Which open changes a push takes now: queued ones after their quiet period (or at once when asked). */
export function isDue(row: ChangeRow, now: number, pushNow: boolean): boolean {
  if (!openStatuses.includes(row.status)) return false;
  const ready = Date.parse(row.notBefore) <= now;
  switch (row.status) {
    case 'queued':
    case 'waiting_consent':
      return ready || pushNow;
    case 'pushing':
      // Left mid-push: due again at once, unless a number assignment is waiting to be listed.
      return ready;
    default:
      // A Retry-After is honoured even when an operator asks to push now.
      return ready;
  }
}

/** When the tenant's next push is due: the earliest moment an open change may go. */
export function nextPushAt(rows: ChangeRow[]): string | undefined {
  let next: string | undefined;
  for (const r of rows) {
    if (!openStatuses.includes(r.status)) continue;
    if (next === undefined || r.notBefore < next) next = r.notBefore;
  }
  return next;
}

export const isFinal = (s: ChangeStatus): boolean => s === 'succeeded' || s === 'failed';
