/**
 * What an error from the Microsoft identity platform means for us. Errors come as a redirect
 * (`error`, `error_description`, `error_subcode`) or a token endpoint body (`error`,
 * `error_description`, `error_codes`); the AADSTS number, when there is one, says more than the
 * OAuth error name. Codes and meanings are Microsoft's (test/fixtures/microsoft/aadsts-codes.json).
 */
export type AadErrorKind =
  /** The admin pressed Cancel or declined the permissions. */
  | 'cancelled'
  /** Someone must approve the app first (the account may not approve it for the organization). */
  | 'consent_required'
  /** This account may not sign in to the app here: not in the tenant, not assigned, disabled. */
  | 'account_not_allowed'
  /** A Conditional Access policy or an MFA requirement stopped the sign-in. */
  | 'blocked'
  /** The code or refresh token is used, expired or revoked: a new interactive sign-in is needed. */
  | 'grant_expired'
  /** The app is not (or no longer) in the customer's tenant, or its use is restricted there. */
  | 'app_not_in_tenant'
  /** The customer's tenant does not exist any more. */
  | 'tenant_gone'
  /** Our side is wrong: credential, redirect, PKCE, scopes. Operators must fix it. */
  | 'app_misconfigured'
  /** Microsoft had a problem; trying again later may work. */
  | 'temporary'
  | 'unknown';

export interface AadErrorInput {
  error?: string | undefined;
  description?: string | undefined;
  subError?: string | undefined;
  codes?: readonly (number | string)[] | undefined;
  /** HTTP status of a token endpoint answer, when there was one. */
  status?: number | undefined;
}

export interface ClassifiedAadError {
  kind: AadErrorKind;
  /** The OAuth error name, e.g. `access_denied`, `invalid_grant`. */
  error: string;
  /** The AADSTS number, e.g. 65004, when Microsoft gave one. */
  code: number | undefined;
}

const byCode: Record<number, AadErrorKind> = {
  65004: 'cancelled',
  65001: 'consent_required',
  90094: 'consent_required',
  90095: 'consent_required',
  50020: 'account_not_allowed',
  50105: 'account_not_allowed',
  50057: 'account_not_allowed',
  50034: 'account_not_allowed',
  53003: 'blocked',
  50076: 'blocked',
  50079: 'blocked',
  54005: 'grant_expired',
  70008: 'grant_expired',
  700082: 'grant_expired',
  50173: 'grant_expired',
  70043: 'grant_expired',
  700084: 'grant_expired',
  70000: 'grant_expired',
  700016: 'app_not_in_tenant',
  500011: 'app_not_in_tenant',
  650059: 'app_not_in_tenant',
  5000224: 'tenant_gone',
  90002: 'tenant_gone',
  7000215: 'app_misconfigured',
  7000222: 'app_misconfigured',
  50148: 'app_misconfigured',
  50194: 'app_misconfigured',
  700005: 'app_misconfigured',
  50011: 'app_misconfigured',
  500113: 'app_misconfigured',
  7000218: 'app_misconfigured',
  50027: 'app_misconfigured',
  700021: 'app_misconfigured',
  700024: 'app_misconfigured',
  700027: 'app_misconfigured',
  700211: 'app_misconfigured',
  700212: 'app_misconfigured',
  700213: 'app_misconfigured',
  70011: 'app_misconfigured',
  28000: 'app_misconfigured',
};

const byError: Record<string, AadErrorKind> = {
  access_denied: 'cancelled',
  consent_required: 'consent_required',
  interaction_required: 'blocked',
  login_required: 'blocked',
  invalid_grant: 'grant_expired',
  invalid_client: 'app_misconfigured',
  unauthorized_client: 'app_misconfigured',
  invalid_scope: 'app_misconfigured',
  invalid_request: 'app_misconfigured',
  invalid_resource: 'app_misconfigured',
  unsupported_response_type: 'app_misconfigured',
  unsupported_grant_type: 'app_misconfigured',
  temporarily_unavailable: 'temporary',
  server_error: 'temporary',
};

/** The first AADSTS number: from `error_codes`, else from the description text. */
export function aadstsCode(input: AadErrorInput): number | undefined {
  for (const c of input.codes ?? []) {
    const n = Number(c);
    if (Number.isInteger(n) && n > 0) return n;
  }
  const m = /AADSTS(\d{4,8})/.exec(input.description ?? '');
  return m ? Number(m[1]) : undefined;
}

export function classifyAadError(input: AadErrorInput): ClassifiedAadError {
  const error = (input.error ?? '').trim().toLowerCase() || 'unknown';
  const code = aadstsCode(input);
  const known = code !== undefined ? byCode[code] : undefined;
  let kind: AadErrorKind;
  if (input.subError === 'cancel') kind = 'cancelled';
  else if (known) kind = known;
  else if ((input.status ?? 0) >= 500) kind = 'temporary';
  else kind = byError[error] ?? 'unknown';
  return { kind, error, code };
}
