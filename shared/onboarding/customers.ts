import { odata } from '@azure/data-tables';
import { pagesOf } from '../jobs/fan-out';
import { z } from 'zod';
import { ConflictError, NotFoundError } from '../errors';
import { parseWith } from '../http/requests';
import type { SecretStore } from '../secrets/vault';
import type { AuditLog } from '../storage/audit';
import { detailsChangeRefusal } from './lifecycle';
import type { Customer, CustomerStatus } from './model';
import { CUSTOMER_PARTITION, type OnboardingRepositories } from './repositories';
import {
  adminEmailSchema,
  canonicalCustomerId,
  customerIdSchema,
  customerNameSchema,
  tenantDomainSchema,
  tenantIdSchema,
} from './validation';

export const newCustomerSchema = z.object({
  id: customerIdSchema,
  name: customerNameSchema,
  adminEmail: adminEmailSchema,
  tenantDomain: tenantDomainSchema.nullish(),
  tenantId: tenantIdSchema.nullish(),
});
export type NewCustomer = z.input<typeof newCustomerSchema>;

export const customerChangesSchema = z.object({
  name: customerNameSchema.optional(),
  adminEmail: adminEmailSchema.optional(),
  tenantDomain: tenantDomainSchema.nullish(),
  tenantId: tenantIdSchema.nullish(),
});
export type CustomerChanges = z.input<typeof customerChangesSchema>;

/** What operators and the API see of a customer: its state, never a secret's name or value. */
export interface CustomerView {
  id: string;
  name: string;
  adminEmail: string;
  tenantDomain: string | null;
  tenantId: string | null;
  status: CustomerStatus;
  consent: {
    state: Customer['consentState'];
    tenantId: string | null;
    consentedBy: string | null;
    consentedAt: string | null;
    tokenExpiresAt: string | null;
  };
  openInvitationId: string | null;
  createdAt: string;
  createdBy: string;
  updatedAt: string;
}

export function viewCustomer(c: Customer): CustomerView {
  const consented = c.consentState === 'consented' || c.consentState === 'needs_consent';
  return {
    id: c.id,
    name: c.name,
    adminEmail: c.adminEmail,
    tenantDomain: c.tenantDomain ?? null,
    tenantId: c.tenantId ?? null,
    status: c.status,
    consent: {
      state: c.consentState,
      tenantId: consented ? (c.tenantId ?? null) : null,
      consentedBy: c.consentedBy ?? null,
      consentedAt: c.consentedAt ?? null,
      tokenExpiresAt: c.tokenExpiresAt ?? null,
    },
    openInvitationId: c.openInvitationId ?? null,
    createdAt: c.createdAt,
    createdBy: c.createdBy,
    updatedAt: c.updatedAt,
  };
}

export interface CustomerService {
  create(input: unknown, actor: string): Promise<Customer>;
  get(id: string): Promise<Customer>;
  find(id: string): Promise<Customer | undefined>;
  list(options?: { pageSize?: number; continuationToken?: string; status?: CustomerStatus }): Promise<{
    items: Customer[];
    continuationToken?: string;
  }>;
  /** Every customer, a page at a time (one partition): what the timers' fan-outs walk. */
  pages(pageSize?: number): AsyncIterable<Customer[]>;
  update(id: string, changes: unknown, actor: string): Promise<Customer>;
  setStatus(id: string, status: CustomerStatus, actor: string, reason?: string): Promise<Customer>;
  /**
   * Ends our access to the customer's tenant: the stored refresh token is deleted from Key Vault and
   * the consent cleared (the audit trail stays). Idempotent: true when there was access to end.
   */
  revokeAccess(id: string, actor: string, reason: string): Promise<boolean>;
  /**
   * Token health found the consent no longer works: the customer needs a new one. Idempotent; the
   * customer as it is now (with `consentLapsedAt`, the time it was first found).
   */
  markConsentLapsed(id: string, actor: string, reason: string): Promise<Customer>;
}

export function createCustomerService(deps: {
  repos: OnboardingRepositories;
  audit: AuditLog;
  secrets: Pick<SecretStore, 'remove'>;
  now?: () => Date;
}): CustomerService {
  const { customers } = deps.repos;
  const now = () => (deps.now ?? (() => new Date()))().toISOString();
  // Every path by id (read, update, status) goes through the same check: an id that cannot be a
  // customer's (encoded slashes, dots, too long) is simply not found, and storage never sees it.
  const find = async (id: string) => {
    const key = canonicalCustomerId(id);
    if (key === undefined) return undefined;
    return (await customers.get(CUSTOMER_PARTITION, key))?.value;
  };
  const mutateById = (id: string, change: (c: Customer) => Customer | undefined) => {
    const key = canonicalCustomerId(id);
    if (key === undefined) return Promise.resolve(undefined);
    return customers.mutate(CUSTOMER_PARTITION, key, change);
  };

  const service: CustomerService = {
    find,
    async get(id) {
      const c = await find(id);
      if (!c) throw new NotFoundError('Customer', id);
      return c;
    },

    async create(input, actor) {
      const v = parseWith(newCustomerSchema, input, 'customer');
      const at = now();
      const created = await customers.create({
        id: v.id,
        name: v.name,
        adminEmail: v.adminEmail,
        ...(v.tenantDomain ? { tenantDomain: v.tenantDomain } : {}),
        ...(v.tenantId ? { tenantId: v.tenantId } : {}),
        status: 'active',
        consentState: 'none',
        createdAt: at,
        createdBy: actor,
        updatedAt: at,
      });
      await deps.audit.record({
        actor,
        action: 'customer.created',
        customerId: created.value.id,
        details: { name: v.name, adminEmail: v.adminEmail, tenantId: v.tenantId ?? null },
      });
      return created.value;
    },

    async list(options = {}) {
      const page = await customers.list({
        partitionKey: CUSTOMER_PARTITION,
        pageSize: Math.min(Math.max(options.pageSize ?? 100, 1), 1000),
        ...(options.status ? { filter: odata`status eq ${options.status}` } : {}),
        ...(options.continuationToken ? { continuationToken: options.continuationToken } : {}),
      });
      return {
        items: page.items.map((s) => s.value),
        ...(page.continuationToken ? { continuationToken: page.continuationToken } : {}),
      };
    },

    pages(pageSize = 200) {
      return pagesOf((continuationToken) =>
        service.list({ pageSize, ...(continuationToken ? { continuationToken } : {}) }),
      );
    },

    async update(id, input, actor) {
      if (canonicalCustomerId(id) === undefined) throw new NotFoundError('Customer', id);
      const changes = parseWith(customerChangesSchema, input, 'customer changes');
      const changed: Record<string, unknown> = {};
      const updated = await mutateById(id, (c) => {
        const refusal = detailsChangeRefusal(c.status);
        if (refusal) throw new ConflictError(refusal.message, { reason: refusal.code });
        const next: Customer = { ...c };
        if (changes.name !== undefined && changes.name !== c.name) next.name = changed.name = changes.name;
        if (changes.adminEmail !== undefined && changes.adminEmail !== c.adminEmail)
          next.adminEmail = changed.adminEmail = changes.adminEmail;
        if (changes.tenantDomain !== undefined && (changes.tenantDomain ?? undefined) !== c.tenantDomain) {
          next.tenantDomain = changes.tenantDomain ?? undefined;
          changed.tenantDomain = changes.tenantDomain ?? null;
        }
        // A consented customer's tenant is what Microsoft told us; an order cannot move it.
        if (
          changes.tenantId !== undefined &&
          c.consentState === 'none' &&
          (changes.tenantId ?? undefined) !== c.tenantId
        ) {
          next.tenantId = changes.tenantId ?? undefined;
          changed.tenantId = changes.tenantId ?? null;
        }
        if (Object.keys(changed).length === 0) return undefined;
        next.updatedAt = now();
        return next;
      });
      if (!updated) throw new NotFoundError('Customer', id);
      if (Object.keys(changed).length > 0) {
        await deps.audit.record({
          actor,
          action: 'customer.updated',
          customerId: updated.value.id,
          details: changed,
        });
      }
      return updated.value;
    },

    async setStatus(id, status, actor, reason) {
      let from: CustomerStatus | undefined;
      const updated = await mutateById(id, (c) => {
        from = c.status;
        if (c.status === status) return undefined;
        return { ...c, status, updatedAt: now() };
      });
      if (!updated) throw new NotFoundError('Customer', id);
      if (from !== status) {
        await deps.audit.record({
          actor,
          action: `customer.${status}`,
          customerId: updated.value.id,
          details: { from, ...(reason ? { reason } : {}) },
        });
      }
      return updated.value;
    },

    async markConsentLapsed(id, actor, reason) {
      let changed = false;
      const updated = await mutateById(id, (c) => {
        changed = c.consentState === 'consented';
        return changed
          ? { ...c, consentState: 'needs_consent', consentLapsedAt: now(), updatedAt: now() }
          : undefined;
      });
      if (!updated) throw new NotFoundError('Customer', id);
      if (changed) {
        await deps.audit.record({
          actor,
          action: 'customer.consent_lapsed',
          customerId: updated.value.id,
          details: { reason },
        });
      }
      return updated.value;
    },

    async revokeAccess(id, actor, reason) {
      const c = await find(id);
      if (!c) throw new NotFoundError('Customer', id);
      const held =
        c.tokenSecretName !== undefined ||
        c.consentState === 'consented' ||
        c.consentState === 'needs_consent';
      if (!held && !c.openInvitationId) return false;
      // Vault first, then the name: a run killed in between deletes again (a no-op) and clears.
      if (c.tokenSecretName) await deps.secrets.remove(c.tokenSecretName);
      await mutateById(id, (x) => ({
        ...x,
        tokenSecretName: undefined,
        tokenExpiresAt: undefined,
        openInvitationId: undefined,
        consentState: 'none',
        updatedAt: now(),
      }));
      if (held) {
        await deps.audit.record({
          actor,
          action: 'customer.token_revoked',
          customerId: c.id,
          details: { reason },
        });
      }
      return held;
    },
  };
  return service;
}
