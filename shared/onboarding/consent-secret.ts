import { createHash } from 'node:crypto';

/**
 * Where a customer's refresh token lives in Key Vault: `customer-<id>-<tenant id>-refresh-token`.
 * The tenant is part of the name so that two admins of different organizations finishing the same
 * invitation at once can never overwrite each other's token (the customer row, written last with its
 * ETag, decides which one counts; the loser removes its own). Key Vault names allow letters, digits
 * and dashes; customer ids may also hold underscores and differ only in case, so an id that needs a
 * change gets a hash of the id appended and two ids never share a name.
 */
export const REFRESH_TOKEN_LIFETIME_MS = 90 * 24 * 3600 * 1000;
export const REFRESH_TOKEN_CONTENT_TYPE = 'application/vnd.microsoft.refresh-token';

export function refreshTokenSecretName(customerId: string, tenantId: string): string {
  const id = customerId.trim().toLowerCase();
  const tenant = tenantId.toLowerCase().replace(/[^a-f0-9-]/g, '');
  if (/^[a-z0-9-]+$/.test(id)) return `customer-${id}-${tenant}-refresh-token`;
  const clean = id.replace(/[^a-z0-9-]/g, '-');
  const hash = createHash('sha256').update(id, 'utf8').digest('hex').slice(0, 10);
  return `customer-${clean}-${hash}-${tenant}-refresh-token`;
}
