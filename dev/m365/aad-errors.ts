import { randomUUID } from 'node:crypto';

/**
 * Errors of the identity platform. The token endpoint answers with a JSON body shaped like
 * test/fixtures/microsoft/token-error-*.json; the authorize endpoint redirects with error and
 * error_description, or shows an error page when it cannot trust the redirect URI. The texts are
 * Microsoft's where the documentation or observed responses give them (see README for the ones
 * that are not confirmed).
 */
export interface AadError {
  error: string;
  code: number;
  /** The message after "AADSTSnnnn: ". */
  message: string;
  status: number;
  suberror?: string;
  /** Retry-After header of a throttled or unavailable answer (seconds, or an HTTP date). */
  retryAfter?: string;
}

function err(error: string, code: number, message: string, status = 400, suberror?: string): AadError {
  return suberror ? { error, code, message, status, suberror } : { error, code, message, status };
}

/** `2016-01-09 02:02:12Z`, the timestamp format of error bodies. */
export function aadTimestamp(ms: number): string {
  return new Date(ms)
    .toISOString()
    .replace('T', ' ')
    .replace(/\.\d+Z$/, 'Z');
}

/** `2023-01-01T00:00:00.0000000Z`, the format of dates inside AADSTS messages. */
export function aadMessageDate(ms: number): string {
  return new Date(ms).toISOString().replace(/\.(\d+)Z$/, (_m, frac: string) => `.${frac.padEnd(7, '0')}Z`);
}

export interface ErrorContext {
  /** Base URL of the simulator as the client addressed it, for error_uri. */
  base: string;
  correlationId: string;
  now: number;
}

export function describe(e: AadError, ctx: ErrorContext, traceId: string): string {
  return (
    `AADSTS${e.code}: ${e.message}\r\nTrace ID: ${traceId}\r\nCorrelation ID: ${ctx.correlationId}` +
    `\r\nTimestamp: ${aadTimestamp(ctx.now)}`
  );
}

/** The JSON body of a token endpoint error. */
export function tokenErrorBody(e: AadError, ctx: ErrorContext): Record<string, unknown> {
  const traceId = randomUUID();
  const body: Record<string, unknown> = {
    error: e.error,
    error_description: describe(e, ctx, traceId),
    error_codes: [e.code],
    timestamp: aadTimestamp(ctx.now),
    trace_id: traceId,
    correlation_id: ctx.correlationId,
    error_uri: `${ctx.base}/error?code=${e.code}`,
  };
  if (e.suberror) body.suberror = e.suberror;
  return body;
}

export const aad = {
  missingParameter: (name: string) =>
    err('invalid_request', 900144, `The request body must contain the following parameter: '${name}'.`),
  malformed: () => err('invalid_request', 9002313, 'Invalid request. Request is malformed or invalid.'),
  invalidRefreshToken: () =>
    err('invalid_grant', 9002313, 'Invalid request. Request is malformed or invalid.'),
  unsupportedGrantType: (grant: string) =>
    err('unsupported_grant_type', 70003, `The app requested an unsupported grant type '${grant}'.`),
  unsupportedResponseType: (type: string) =>
    err('unsupported_response_type', 700054, `response_type '${type}' is not enabled for the application.`),
  tenantNotFound: (tenant: string, error = 'invalid_request') =>
    err(
      error,
      90002,
      `Tenant '${tenant}' not found. Check to make sure you have the correct tenant ID and are signing into the ` +
        'correct cloud. Check with your subscription administrator, this may happen if there are no active ' +
        'subscriptions for the tenant.',
    ),
  appNotFound: (clientId: string, directory: string) =>
    err(
      'unauthorized_client',
      700016,
      `Application with identifier '${clientId}' was not found in the directory '${directory}'. This can happen ` +
        'if the application has not been installed by the administrator of the tenant or consented to by any user ' +
        'in the tenant. You may have sent your authentication request to the wrong tenant.',
    ),
  redirectUriMismatch: (uri: string, clientId: string, error = 'invalid_request', status = 400) =>
    err(
      error,
      50011,
      `The redirect URI '${uri}' specified in the request does not match the redirect URIs configured for the ` +
        `application '${clientId}'. Make sure the redirect URI sent in the request matches one added to your ` +
        'application in the Azure portal. Navigate to https://aka.ms/redirectUriMismatchError to learn more about ' +
        'how to fix this.',
      status,
    ),
  missingCredential: () =>
    err(
      'invalid_client',
      7000218,
      "The request body must contain the following parameter: 'client_assertion' or 'client_secret'.",
      401,
    ),
  invalidSecret: (clientId: string) =>
    err(
      'invalid_client',
      7000215,
      'Invalid client secret provided. Ensure the secret being sent in the request is the client secret value, ' +
        `not the client secret ID, for a secret added to app '${clientId}'.`,
      401,
    ),
  expiredSecret: (clientId: string) =>
    err(
      'invalid_client',
      7000222,
      `The provided client secret keys for app '${clientId}' are expired. Visit the Azure portal to create new ` +
        'keys for your app: https://aka.ms/NewClientSecret, or consider using certificate credentials for added ' +
        'security: https://aka.ms/certCreds.',
      401,
    ),
  assertionMalformed: () => err('invalid_client', 50027, 'JWT token is invalid or malformed.', 401),
  assertionSignature: () =>
    err('invalid_client', 700027, 'Client assertion failed signature validation.', 401),
  assertionTime: () =>
    err('invalid_client', 700024, 'Client assertion is not within its valid time range.', 401),
  assertionClientMismatch: () =>
    err(
      'invalid_client',
      700021,
      "Client assertion application identifier doesn't match 'client_id' parameter.",
      401,
    ),
  assertionAudience: (aud: string) =>
    err(
      'invalid_client',
      700212,
      `No matching federated identity record found for presented assertion audience '${aud}'.`,
      401,
    ),
  assertionIssuer: (iss: string) =>
    err(
      'invalid_client',
      700211,
      `No matching federated identity record found for presented assertion issuer '${iss}'.`,
      401,
    ),
  assertionSubject: (sub: string) =>
    err(
      'invalid_client',
      700213,
      `No matching federated identity record found for presented assertion subject '${sub}'.`,
      401,
    ),
  invalidCode: () => err('invalid_grant', 70000, "The provided value for the 'code' parameter is not valid."),
  codeRedeemed: () =>
    err(
      'invalid_grant',
      54005,
      'OAuth2 Authorization code was already redeemed, please retry with a new valid code or use an existing refresh token.',
    ),
  expiredGrant: () =>
    err(
      'invalid_grant',
      70008,
      'The provided authorization code or refresh token has expired due to inactivity. Send a new interactive ' +
        'authorization request for this user and resource.',
    ),
  inactiveRefreshToken: (issuedAt: number) =>
    err(
      'invalid_grant',
      700082,
      `The refresh token has expired due to inactivity. The token was issued on ${aadMessageDate(issuedAt)} and ` +
        'was inactive for 90.00:00:00.',
      400,
      'bad_token',
    ),
  revokedGrant: (authTime: number, validFrom: number) =>
    err(
      'invalid_grant',
      50173,
      'The provided grant has expired due to it being revoked, a fresh auth token is needed. The user might have ' +
        `changed or reset their password. The grant was issued on '${aadMessageDate(authTime)}' and the ` +
        `TokensValidFrom date (before which tokens are not valid) for this user is '${aadMessageDate(validFrom)}'.`,
      400,
      'bad_token',
    ),
  userDisabled: () => err('invalid_grant', 50057, 'The user account is disabled.'),
  codeOtherTenant: () =>
    err(
      'invalid_grant',
      700005,
      'Provided Authorization Code is intended to use against other tenant, thus rejected.',
    ),
  userNotInTenant: (upn: string, tenant: string, clientId: string, appName: string) =>
    err(
      'invalid_grant',
      50020,
      `User account '${upn}' from identity provider 'https://sts.windows.net/' does not exist in tenant ` +
        `'${tenant}' and cannot access the application '${clientId}'(${appName}) in that tenant. The account ` +
        'needs to be added as an external user in the tenant first. Sign out and sign in again with a different ' +
        'Azure Active Directory user account.',
    ),
  pkceMismatch: () =>
    err(
      'invalid_grant',
      50148,
      "The code_verifier doesn't match the code_challenge supplied in the authorization request for PKCE.",
    ),
  consentRequired: (clientId: string, appName: string) =>
    err(
      'invalid_grant',
      65001,
      `The user or administrator has not consented to use the application with ID '${clientId}' named ` +
        `'${appName}'. Send an interactive authorization request for this user and resource.`,
      400,
      'consent_required',
    ),
  invalidScope: (scope: string) =>
    err(
      'invalid_scope',
      70011,
      `The provided value for the input parameter 'scope' is not valid. The scope ${scope} is not valid.`,
    ),
  multipleResources: (scope: string) =>
    err(
      'invalid_scope',
      28000,
      `Provided value for the input parameter scope is not valid because it contains more than one resource. Scope ${scope} is not valid.`,
    ),
  resourceNotFound: (resource: string, tenant: string) =>
    err(
      'invalid_resource',
      500011,
      `The resource principal named ${resource} was not found in the tenant named ${tenant}. This can happen if ` +
        'the application has not been installed by the administrator of the tenant or consented to by any user in ' +
        'the tenant. You might have sent your authentication request to the wrong tenant.',
    ),
  clientCredentialsScope: (scope: string) =>
    err(
      'invalid_scope',
      1002012,
      `The provided value for scope ${scope} is not valid. Client credential flows must have a scope value with ` +
        '/.default suffixed to the resource identifier (application ID URI).',
    ),
  grantNotOnCommon: () =>
    err(
      'invalid_request',
      9001023,
      'The grant type is not supported over the /common or /consumers endpoints. Please use the /organizations or tenant-specific endpoint.',
    ),
  noTenantInfo: () =>
    err(
      'invalid_request',
      50059,
      'No tenant-identifying information found in either the request or implied by any provided credentials.',
    ),
  userDeclined: () => err('access_denied', 65004, 'User declined to consent to access the app.'),
  loginRequired: () =>
    err('login_required', 50058, 'A silent sign-in request was sent but no user is signed in.'),
  invalidCodeChallenge: () => err('invalid_request', 501491, 'Invalid size of Code_Challenge parameter.'),
  invalidCodeChallengeMethod: (method: string) =>
    err(
      'invalid_request',
      9002313,
      `Invalid request. Request is malformed or invalid. code_challenge_method '${method}' is not supported.`,
    ),
  unknownInstance: () => err('invalid_instance', 50049, 'Unknown or invalid instance.'),
  signInFrequency: (issuedAt: number) =>
    err(
      'invalid_grant',
      70043,
      `The refresh token has expired or is invalid due to sign-in frequency checks by conditional access. The ` +
        `token was issued on ${aadMessageDate(issuedAt)} and the maximum allowed lifetime for this request is 3600.`,
      400,
      'token_expired',
    ),
  blockedByConditionalAccess: () =>
    err(
      'invalid_grant',
      53003,
      'Access has been blocked by Conditional Access policies. The access policy does not allow token issuance.',
      400,
      'message_only',
    ),
  mfaRequired: (resource: string) =>
    err(
      'interaction_required',
      50076,
      'Due to a configuration change made by your administrator, or because you moved to a new location, you ' +
        `must use multi-factor authentication to access '${resource}'.`,
      400,
      'basic_action',
    ),
  mfaRegistrationRequired: () =>
    err(
      'interaction_required',
      50079,
      'Due to a configuration change made by your administrator, or because you moved to a new location, you ' +
        'must enroll in multi-factor authentication to access the resource.',
      400,
      'additional_action',
    ),
  interactionRequired: () =>
    err(
      'interaction_required',
      50158,
      'External security challenge not satisfied. User will be redirected to another page or authentication ' +
        'provider to satisfy additional authentication challenges.',
      400,
      'basic_action',
    ),
  tenantDeleted: () => err('invalid_request', 5000224, 'We are sorry, this resource is not available.'),
  appDisabled: (clientId: string, appName: string) =>
    err('unauthorized_client', 7000112, `Application '${clientId}'(${appName}) is disabled.`),
  userNotFound: (upn: string, tenant: string) =>
    err(
      'invalid_grant',
      50034,
      `The user account ${upn} does not exist in the ${tenant} directory. To sign into this application, the ` +
        'account must be added to the directory.',
    ),
  temporarilyUnavailable: (retryAfter?: string) => ({
    ...err('temporarily_unavailable', 90006, 'The service is temporarily unavailable.', 503),
    ...(retryAfter ? { retryAfter } : {}),
  }),
  throttled: (retryAfter: string) => ({
    ...err(
      'temporarily_unavailable',
      90055,
      'There are too many incoming requests. Please try again later.',
      429,
    ),
    retryAfter,
  }),
};

/** The grant failures a test can impose (`failTokenRequests`), each with the body Microsoft documents for it. */
export const simulatedGrantFailures = [
  65001,
  50173,
  70008,
  700082,
  70043,
  53003,
  50076,
  50079,
  90002,
  5000224,
  7000112,
  50034,
  700016,
  'interaction_required',
] as const;
export type SimulatedGrantFailure = (typeof simulatedGrantFailures)[number];

export function grantFailure(
  failure: SimulatedGrantFailure,
  facts: {
    clientId: string;
    appName: string;
    tenantId: string;
    tenantName: string;
    upn: string;
    issuedAt: number;
    now: number;
  },
): AadError {
  switch (failure) {
    case 65001:
      return aad.consentRequired(facts.clientId, facts.appName);
    case 50173:
      return aad.revokedGrant(facts.issuedAt, facts.now);
    case 70008:
      return aad.expiredGrant();
    case 700082:
      return aad.inactiveRefreshToken(facts.issuedAt);
    case 70043:
      return aad.signInFrequency(facts.issuedAt);
    case 53003:
      return aad.blockedByConditionalAccess();
    case 50076:
      return aad.mfaRequired('00000003-0000-0000-c000-000000000000');
    case 50079:
      return aad.mfaRegistrationRequired();
    case 90002:
      return aad.tenantNotFound(facts.tenantId);
    case 5000224:
      return aad.tenantDeleted();
    case 7000112:
      return aad.appDisabled(facts.clientId, facts.appName);
    case 50034:
      return aad.userNotFound(facts.upn, facts.tenantName);
    case 700016:
      return aad.appNotFound(facts.clientId, facts.tenantName);
    case 'interaction_required':
      return aad.interactionRequired();
  }
}
