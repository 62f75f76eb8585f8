import { z } from 'zod';
import {
  adminEmailSchema,
  customerIdSchema,
  customerNameSchema,
  tenantDomainSchema,
  tenantIdSchema,
} from '../onboarding/validation';
import { cliName, fqdn, prefix, ruleName } from '../sbc/values';

/**
 * The events the ordering system may send, each with the shape of its `data`. A later capability
 * (sites, number prefixes, users) adds its types here and a handler in `handlers.ts`: the endpoint,
 * the envelope, idempotency and retries stay as they are.
 *
 * Tolerance the seeds learned the hard way: unknown fields are ignored, and a null in an optional
 * field means "not given" (it never erases anything); required fields and counts are strict.
 */

/** An optional field that may also be null; both read as "not given". */
const optional = <T extends z.ZodType>(schema: T) =>
  schema.nullish().transform((v): z.output<T> | undefined => v ?? undefined);

/** A count: a whole number from 0, as a JSON number or a string of digits (some billing systems send those). */
export const countSchema = z.preprocess(
  (v) => (typeof v === 'string' && /^\s*\d{1,9}\s*$/.test(v) ? Number(v) : v),
  z
    .number('must be a whole number')
    .int('must be a whole number')
    .min(0, 'must not be negative')
    .max(1_000_000, 'at most 1000000'),
);

export const subscriptionSchema = z.object({
  sku: z
    .string()
    .trim()
    .min(1, 'is required')
    .max(100, 'at most 100 characters')
    .regex(/^[A-Za-z0-9][A-Za-z0-9_.:/-]*$/, 'letters, digits, "_", ".", ":", "/" or "-"'),
  quantity: countSchema.meta({ description: 'A whole number from 0 (a string of digits is accepted too).' }),
});

const reasonSchema = optional(z.string().trim().max(500, 'at most 500 characters')).meta({
  description: 'Why, for the audit log.',
});

/** The admin who will sign in and consent: a real mailbox, never a guest (#EXT#) account. */
const adminEmail = adminEmailSchema.meta({
  format: 'email',
  description: 'The admin who signs in and consents. A guest account (#EXT#) is refused.',
});
const customerId = customerIdSchema.meta({
  description: "The ordering system's customer id: 2-40 letters, digits, '-' or '_'. Case-insensitive.",
});

const tenantDomain = optional(tenantDomainSchema).meta({
  description: "The tenant's domain, e.g. contoso.onmicrosoft.com, when the ordering system knows it.",
});
const tenantId = optional(tenantIdSchema).meta({
  description: 'The tenant id, when known; the consent must then come from that tenant.',
});

export const customerCreatedData = z.object({
  customerId,
  name: customerNameSchema,
  adminEmail,
  tenantDomain,
  tenantId,
  sendInvitation: optional(z.boolean()).meta({
    description: 'Default true: e-mail the admin an invitation as soon as the customer exists.',
  }),
  subscriptions: optional(z.array(subscriptionSchema).max(100, 'at most 100 subscriptions')),
});

export const customerUpdatedData = z.object({
  customerId,
  name: optional(customerNameSchema),
  adminEmail: optional(adminEmail),
  tenantDomain,
  tenantId,
  subscriptions: optional(z.array(subscriptionSchema).max(100, 'at most 100 subscriptions')),
});

export const customerStatusData = z.object({ customerId, reason: reasonSchema });

export const invitationResendData = z.object({ customerId });

/**
 * SBC sites. No carrier credentials travel in an order (they would be stored with the event): an
 * operator sets them through the API.
 */
const sbcRef = z
  .string()
  .regex(/^[a-z0-9][a-z0-9-]{0,39}$/, 'an SBC id')
  .meta({ description: 'The SBC (as added by the provider).' });
const siteRef = z.string().regex(/^[a-z0-9][a-z0-9-]{0,39}$/, 'a site id');
const prefixes = z.array(prefix).max(1000, 'at most 1000 prefixes');

export const siteCreatedData = z.object({
  customerId,
  sbcId: sbcRef,
  siteId: optional(siteRef).meta({ description: 'Default: the customer id in lower case.' }),
  configuration: z.enum(['sip-trunk', 'ip-pbx', 'byoc']),
  dialPlan: cliName,
  carrierId: cliName.meta({ description: "The carrier's proxy set and IP profile on the SBC." }),
  trunkFqdn: optional(fqdn).meta({
    description: "Default: derived, <customer>.<the provider's customer domain>.",
  }),
  ruleName: optional(ruleName),
  cacProfile: optional(cliName),
  prefixes: optional(prefixes),
});

export const sitePrefixesData = z.object({
  customerId,
  sbcId: sbcRef,
  siteId: siteRef,
  add: optional(prefixes),
  remove: optional(prefixes),
});

export const siteRemovedData = z.object({ customerId, sbcId: sbcRef, siteId: siteRef });

export interface EventTypeDefinition {
  summary: string;
  data: z.ZodType<{ customerId: string }>;
  /**
   * Events of one group for one customer take effect in `occurredAt` order: one that is older than
   * the last applied event of its group is acknowledged and skipped (out-of-order delivery).
   */
  ordering: 'status' | 'details' | 'none';
  /** The customer must exist; until a customer.created makes it, the event waits and is retried. */
  requiresCustomer: boolean;
}

export const eventTypes = {
  'customer.created': {
    summary: 'A new customer: creates it and e-mails its admin an invitation.',
    data: customerCreatedData,
    ordering: 'details',
    requiresCustomer: false,
  },
  'customer.updated': {
    summary: 'Changed customer details; a changed admin e-mail gets a new invitation if consent is pending.',
    data: customerUpdatedData,
    ordering: 'details',
    requiresCustomer: true,
  },
  'customer.suspended': {
    summary: 'Service paused: replication and changes stop, data stays.',
    data: customerStatusData,
    ordering: 'status',
    requiresCustomer: true,
  },
  'customer.resumed': {
    summary: 'Service resumed after a suspension (a cancelled customer cannot be resumed).',
    data: customerStatusData,
    ordering: 'status',
    requiresCustomer: true,
  },
  'customer.cancelled': {
    summary: "Service ended: the customer's token is revoked and its SBC sites are queued for cleanup.",
    data: customerStatusData,
    ordering: 'status',
    requiresCustomer: true,
  },
  'site.created': {
    summary: "A customer's site on an SBC: its IP groups and dial-plan rules are queued for the SBC.",
    data: siteCreatedData,
    ordering: 'none',
    requiresCustomer: true,
  },
  'site.prefixes.changed': {
    summary: "Number prefixes added to or removed from a customer's site: queued for the SBC.",
    data: sitePrefixesData,
    ordering: 'none',
    requiresCustomer: true,
  },
  'site.removed': {
    summary: "A customer's site removed: its cleanup is queued for the SBC.",
    data: siteRemovedData,
    ordering: 'none',
    requiresCustomer: true,
  },
  'invitation.resend': {
    summary: "A new invitation e-mail to the customer's admin (the previous link stops working).",
    data: invitationResendData,
    ordering: 'none',
    requiresCustomer: true,
  },
} as const satisfies Record<string, EventTypeDefinition>;

export type OrderEventType = keyof typeof eventTypes;
export type EventData<T extends OrderEventType> = z.output<(typeof eventTypes)[T]['data']>;

export function isKnownEventType(type: string): type is OrderEventType {
  return Object.prototype.hasOwnProperty.call(eventTypes, type);
}
