/**
 * Walks the simulator's sign-in pages without a browser, the way a person would: open the authorize
 * URL, pick the account by its UPN, then accept or cancel the consent page. For tests that need a
 * real authorization code (fetch follows no redirects here, so the code stays in the Location).
 */

export interface DriveSignInOptions {
  /** The UPN of the account button to press. */
  account: string;
  /** What to press on the consent page (default accept). */
  consent?: 'accept' | 'cancel';
  /** Tick "Consent on behalf of your organization" (admins only). */
  consentForOrganization?: boolean;
}

export interface DriveSignInResult {
  /** Where the simulator redirected (the app's redirect URI with code/state or error). */
  location?: string;
  /** The page the walk stopped on, when it did not end in a redirect. */
  stoppedAt?: 'need-admin-approval' | 'error' | 'form-post' | 'unexpected';
  html?: string;
  /** response_mode=form_post: where the page posts and what. */
  formPost?: { action: string; fields: Record<string, string> };
  /** The pages passed through, in order. */
  pages: string[];
}

const entities: Record<string, string> = {
  '&amp;': '&',
  '&lt;': '<',
  '&gt;': '>',
  '&quot;': '"',
  '&#39;': "'",
};

function unescape(value: string): string {
  return value.replace(/&(amp|lt|gt|quot|#39);/g, (m) => entities[m] ?? m);
}

function escapeForAttribute(value: string): string {
  return value
    .replace(/&/g, '&amp;')
    .replace(/</g, '&lt;')
    .replace(/>/g, '&gt;')
    .replace(/"/g, '&quot;')
    .replace(/'/g, '&#39;');
}

function formOf(html: string): { action: string; request: string } | undefined {
  const action = /<form method="post" action="([^"]*)"/.exec(html)?.[1];
  const request = /<input type="hidden" name="request" value="([^"]*)"/.exec(html)?.[1];
  return action !== undefined && request !== undefined
    ? { action: unescape(action), request: unescape(request) }
    : undefined;
}

function pageName(html: string): string {
  return unescape(/<h1>([^<]*)<\/h1>/.exec(html)?.[1] ?? '');
}

async function post(url: string, fields: Record<string, string>): Promise<Response> {
  return fetch(url, {
    method: 'POST',
    redirect: 'manual',
    headers: { 'Content-Type': 'application/x-www-form-urlencoded', Accept: 'text/html' },
    body: new URLSearchParams(fields).toString(),
  });
}

export async function driveSignIn(
  authorizeUrl: string,
  options: DriveSignInOptions,
): Promise<DriveSignInResult> {
  const pages: string[] = [];
  let res = await fetch(authorizeUrl, { redirect: 'manual', headers: { Accept: 'text/html' } });
  for (let step = 0; step < 5; step++) {
    const location = res.headers.get('location');
    if (res.status >= 300 && res.status < 400 && location) return { location, pages };
    const html = await res.text();
    const name = pageName(html);
    pages.push(name);
    const form = formOf(html);
    const target = form && new URL(form.action, authorizeUrl).toString();
    if (name === 'Pick an account' && form && target) {
      const button = new RegExp(
        `name="account" value="([^"]*)" aria-label="${escapeRegExp(escapeForAttribute(options.account))}"`,
      ).exec(html);
      if (!button?.[1]) throw new Error(`no account ${options.account} on the sign-in page`);
      res = await post(target, { request: form.request, account: unescape(button[1]) });
    } else if (name === 'Permissions requested' && form && target) {
      const fields: Record<string, string> = { request: form.request, action: options.consent ?? 'accept' };
      if (options.consentForOrganization) {
        if (!html.includes('name="consent_on_behalf"'))
          throw new Error('this account cannot consent for the organization');
        fields.consent_on_behalf = 'true';
      }
      res = await post(target, fields);
    } else if (name === 'Need admin approval' && form && target && options.consent === 'cancel') {
      res = await post(target, { request: form.request, action: 'cancel' });
    } else if (name === 'Need admin approval') {
      return { stoppedAt: 'need-admin-approval', html, pages };
    } else if (name === 'Signing you in') {
      const action = unescape(/<form method="post" action="([^"]*)"/.exec(html)?.[1] ?? '');
      const fields = Object.fromEntries(
        [...html.matchAll(/<input type="hidden" name="([^"]*)" value="([^"]*)">/g)].map((m) => [
          unescape(m[1] ?? ''),
          unescape(m[2] ?? ''),
        ]),
      );
      return { stoppedAt: 'form-post', formPost: { action, fields }, html, pages };
    } else {
      return { stoppedAt: res.status >= 400 ? 'error' : 'unexpected', html, pages };
    }
  }
  return { stoppedAt: 'unexpected', pages };
}

function escapeRegExp(value: string): string {
  return value.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}
