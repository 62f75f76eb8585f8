import { z } from 'zod';

/**
 * What a customer's fields may hold. The seeds' release notes list what went wrong without these:
 * invalid admin addresses accepted, guest (#EXT#) accounts set as the admin login, ids that broke
 * SBC scripts.
 */

/**
 * Used in SBC object names (`<id>-c`, `<id>-t`) and URLs: letters, digits, dash, underscore. Ids are
 * not case-sensitive, so the one form kept and compared everywhere (rows, keys, filters, audit
 * partitions, events) is the lower-case one: `PMix-x` and `pmix-x` are the same customer.
 */
export const customerIdSchema = z
  .string()
  .trim()
  .regex(
    /^[A-Za-z0-9][A-Za-z0-9_-]{1,39}$/,
    '2-40 letters, digits, "-" or "_", starting with a letter or digit',
  )
  .transform((s) => s.toLowerCase());

/** The canonical form of a customer id, or undefined when it cannot be one (so no row has it). */
export function canonicalCustomerId(id: string): string | undefined {
  const parsed = customerIdSchema.safeParse(id);
  return parsed.success ? parsed.data : undefined;
}

export const customerNameSchema = z
  .string()
  .trim()
  .min(1, 'is required')
  .max(200, 'at most 200 characters')
  // eslint-disable-next-line no-control-regex -- control characters are exactly what is refused
  .refine((s) => !/[\u0000-\u001f\u007f]/.test(s), 'must not contain control characters');

export const adminEmailSchema = z
  .string()
  .trim()
  .max(254, 'at most 254 characters')
  .refine((s) => !s.toUpperCase().includes('#EXT#'), 'a guest (#EXT#) account cannot be the admin login')
  .pipe(z.email('must be a valid e-mail address'))
  .transform((s) => s.toLowerCase());

export const tenantIdSchema = z.guid('must be a tenant id (GUID)').transform((s) => s.toLowerCase());

export const tenantDomainSchema = z
  .string()
  .trim()
  .toLowerCase()
  .max(253)
  .regex(
    /^(?=.{1,253}$)([a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?\.)+[a-z]{2,63}$/,
    'must be a domain name, e.g. contoso.onmicrosoft.com',
  );
