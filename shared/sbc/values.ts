import { z } from 'zod';

/**
 * Every value that can reach an SBC CLI script, typed by what it is on the device (AudioCodes
 * User's Manual 7.2 tables, see dev/sbc/README.md). None of them can hold a quote, a backslash or a
 * line break, so a value rendered inside quotes can never end the string, add a line or a command.
 */

/** A rule name on the device: at most 15 characters. */
export const ruleName = z
  .string()
  .regex(/^[A-Za-z0-9][A-Za-z0-9._-]{0,14}$/, '1-15 letters, digits, ".", "_" or "-"');

/**
 * A dial-plan prefix: at most 50 characters of digits, `x` (0-9), `z` (1-9), `n` (2-9), `*` (any
 * number), `#` (end of number), `.`, a leading `+`, and ranges such as `[123-130,455]` whose ends
 * have the same number of digits.
 */
export const PREFIX_PATTERN = /^\+?(?:[0-9xzn*#.]|\[[0-9]+(?:-[0-9]+)?(?:,[0-9]+(?:-[0-9]+)?)*\])+$/;
export const prefix = z
  .string()
  .max(50, 'at most 50 characters')
  .regex(PREFIX_PATTERN, 'digits, x, z, n, *, #, . and ranges like [123-130,455]')
  .refine(rangesHaveEqualDigits, 'a range joins numbers of the same digit count, low to high');

function rangesHaveEqualDigits(p: string): boolean {
  for (const [, body] of p.matchAll(/\[([^\]]*)\]/g)) {
    for (const part of (body ?? '').split(',')) {
      const [lo, hi] = part.split('-');
      if (hi !== undefined && (lo?.length !== hi.length || Number(lo) > Number(hi))) return false;
    }
  }
  return true;
}

/** A host name of at most 253 characters, each label 1-63 letters, digits or inner dashes. */
export const fqdn = z
  .string()
  .max(253)
  .regex(
    /^(?=.{1,253}$)(?:[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?\.)+[A-Za-z](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?$/,
    'a fully qualified domain name',
  )
  .transform((v) => v.toLowerCase());

export const ipv4 = z
  .string()
  .regex(/^(?:(?:25[0-5]|2[0-4]\d|1?\d?\d)\.){3}(?:25[0-5]|2[0-4]\d|1?\d?\d)$/, 'an IPv4 address');

/** Tags: `name` or `name=value`, several separated by `;`. */
export const TAG_PATTERN =
  /^[A-Za-z0-9._-]+(?:=[A-Za-z0-9._+-]+)?(?:;[A-Za-z0-9._-]+(?:=[A-Za-z0-9._+-]+)?)*$/;
export const tag = (maxLength: number) =>
  z.string().max(maxLength, `at most ${maxLength} characters`).regex(TAG_PATTERN, 'key=value;…');

/** Names of things configured on the SBC (IP groups, proxy sets, IP profiles, dial plans, CAC profiles). */
export const cliName = z
  .string()
  .regex(/^[A-Za-z0-9][A-Za-z0-9 ._-]{0,39}$/, '1-40 letters, digits, spaces, ".", "_" or "-"');

/** A customer id as it appears in IP group and account names (`<id>-c`, `<id>-t`). */
export const customerName = z
  .string()
  .regex(/^[a-z0-9][a-z0-9-]{0,31}$/, 'lower-case letters, digits and "-"');

/** A carrier user name, or the main line a registration contacts as. */
export const carrierUser = z
  .string()
  .regex(/^[A-Za-z0-9+._@-]{1,64}$/, '1-64 letters, digits, +, ., _, @ or -');

/**
 * A carrier password: printable ASCII without quotes, backslash, backtick, `$` or space, since the CLI has
 * no way to escape them inside a quoted string (and the operator's PowerShell would expand the others).
 * Refused, not altered, so what reaches the device is what was given.
 */
export const carrierPassword = z
  .string()
  .min(1)
  .max(64)
  .regex(
    /^[\x21\x23\x25\x26\x28-\x5b\x5d-\x5f\x61-\x7e]+$/,
    'printable characters without quotes, backslash, backtick, $ or spaces',
  );

export const ruleIndex = z.number().int().min(0).max(99_999);

/** The one last check on any value rendered into a script: nothing that could end a quoted string or a line. */
// eslint-disable-next-line no-control-regex -- control characters are exactly what is refused
export const UNSAFE_IN_CLI = /["\\\u0000-\u001f\u007f\u2028\u2029]/;
