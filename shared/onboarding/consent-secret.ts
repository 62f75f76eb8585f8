import { createHash } from 'node:crypto';

/**
 * Where a customer's refresh token lives in Key Vault. Key Vault names allow letters, digits and
 * dashes; customer ids may also hold underscores and differ only in case. An id that needs no change
 * keeps the plain form; any other gets a hash of the id appended, so two ids never share a secret.
 */
export const REFRESH_TOKEN_LIFETIME_MS = 90 * 24 * 3600 * 1000;
export const REFRESH_TOKEN_CONTENT_TYPE = 'application/vnd.microsoft.refresh-token';

export function refreshTokenSecretName(customerId: string): string {
  const id = customerId.trim().toLowerCase();
  if (/^[a-z0-9-]+$/.test(id)) return `customer-${id}-refresh-token`;
  const clean = id.replace(/[^a-z0-9-]/g, '-');
  const hash = createHash('sha256').update(id, 'utf8').digest('hex').slice(0, 10);
  return `customer-${clean}-${hash}-refresh-token`;
}
