import { describe, expect, it } from 'vitest';
import type { ConsentProblemReason } from '../../../../shared/onboarding/consent-outcomes';
import { graphPermissions } from '../../../../shared/identity/scopes';
import { errorPage, invitationPage, problemPage, thanksPage } from '../../../../shared/pages/consent-pages';
import { problemTexts } from '../../../../shared/pages/problems';
import { securityHeaders, stylesheetResponse } from '../../../../shared/pages/response';
import { siteCssVersion } from '../../../../shared/pages/stylesheet';

const frame = { providerName: 'Fine & Bak <Telecom>', basePath: '', signInHost: 'login.microsoftonline.com' };
const evil = '<img src=x onerror=alert(1)>"\'';

/** No script, no inline style, no event handler: what the CSP forbids must not be on the page. */
function expectCspClean(page: string): void {
  expect(page).not.toMatch(/<script/i);
  expect(page).not.toMatch(/<style/i);
  expect(page).not.toMatch(/\sstyle=/i);
  expect(page).not.toMatch(/<[^>]*\son[a-z]+=/i);
  expect(page).toContain('<html lang="en">');
  expect(page).toContain('name="viewport"');
  expect(page).toContain(`/authenticate/assets/site.css?v=${siteCssVersion}`);
}

describe('the invitation page', () => {
  const model = {
    kind: 'invitation' as const,
    token: 'T'.repeat(43),
    customerName: evil,
    sentTo: `admin@${evil}`,
    expiresAt: '2030-01-01T12:00:00.000Z',
    acceptedRoles: ['Global Administrator', 'Teams Communications Administrator'],
    permissions: [...graphPermissions],
    newPermissions: [] as string[],
  };

  it('escapes the customer and provider names everywhere', () => {
    const page = invitationPage(frame, model);
    expect(page).not.toContain('<img');
    expect(page).toContain('&lt;img src=x onerror=alert(1)&gt;&quot;&#39;');
    expect(page).toContain('Fine &amp; Bak &lt;Telecom&gt;');
    expectCspClean(page);
  });

  it('explains who asks, for what, the role, the permissions and the expiry, with a POST button', () => {
    const page = invitationPage(frame, { ...model, customerName: 'Contoso' });
    expect(page).toContain('<h1>Connect Contoso to Fine &amp; Bak &lt;Telecom&gt;</h1>');
    expect(page).toContain('We will never see your password.');
    for (const p of graphPermissions) expect(page).toContain(p.description.replace(/’/g, '’'));
    expect(page).toContain('<li>Teams Communications Administrator</li>');
    expect(page).toContain('1 January 2030');
    expect(page).toContain(
      `<form class="actions" method="post" action="/authenticate/${'T'.repeat(43)}/start">`,
    );
    expect(page).toContain('<button class="button" type="submit">Start authentication</button>');
  });

  it('marks what a re-consent adds, and says why the admin is asked again', () => {
    const added = graphPermissions[graphPermissions.length - 1]!;
    const page = invitationPage(frame, { ...model, customerName: 'Contoso', newPermissions: [added.scope] });
    expect(page).toContain('are why you are asked again');
    expect(page.match(/<strong class="new">New<\/strong>/g)).toHaveLength(1);
    expect(page).toMatch(
      new RegExp(`${added.description.slice(0, 20)}[^<]*<strong class="new">New</strong>`),
    );
    expect(invitationPage(frame, model)).not.toContain('class="new"');
  });

  it('builds its URLs under the app’s base path', () => {
    const page = invitationPage({ ...frame, basePath: '/switchboard' }, model);
    expect(page).toContain(`action="/switchboard/authenticate/${'T'.repeat(43)}/start"`);
    expect(page).toContain('href="/switchboard/authenticate/assets/site.css');
  });
});

describe('the other pages', () => {
  it('thank the admin and say the window may be closed', () => {
    const page = thanksPage(frame, {
      kind: 'consented',
      customerName: evil,
      organizationName: 'Contoso',
      consentedBy: 'patti@contoso.com',
      consentedAt: '2030-01-01T12:00:00.000Z',
    });
    expect(page).toContain('Thank you!');
    expect(page).toContain('You may close this window.');
    expect(page).not.toContain('<img');
    expectCspClean(page);
  });

  it('explain every refusal in plain words, with a way back only when there is one', () => {
    for (const reason of Object.keys(problemTexts) as ConsentProblemReason[]) {
      const plain = problemPage(frame, { kind: 'problem', reason, status: 400 });
      expect(plain).toContain(`<h1>${problemTexts[reason].title}</h1>`);
      expect(plain).not.toContain('{provider}');
      expect(plain).not.toContain('{organization}');
      expect(plain).not.toContain('Start again</a>');
      expectCspClean(plain);
      const withRetry = problemPage(frame, {
        kind: 'problem',
        reason,
        status: 400,
        retryPath: '/authenticate/abc',
      });
      expect(withRetry).toContain('<a class="button" href="/authenticate/abc">Start again</a>');
    }
  });

  it('name the organization signed in to, and the roles that would do', () => {
    const page = problemPage(frame, {
      kind: 'problem',
      reason: 'wrong_tenant',
      status: 403,
      organizationName: evil,
    });
    expect(page).toContain('You signed in to &lt;img');
    const roles = problemPage(frame, {
      kind: 'problem',
      reason: 'not_admin',
      status: 403,
      acceptedRoles: ['Global Administrator'],
    });
    expect(roles).toContain('<li>Global Administrator</li>');
  });

  it('show only an error id when we failed', () => {
    const page = errorPage(frame, '0f8fad5b-d9cb-469f-a165-70867728950e', false);
    expect(page).toContain('<code>0f8fad5b-d9cb-469f-a165-70867728950e</code>');
    expect(page).toContain('Something went wrong on our side');
    expect(errorPage(frame, 'id', true)).toContain('A service we rely on isn’t answering');
  });
});

describe('headers', () => {
  it('forbid scripts, framing, referrers and caching', () => {
    expect(securityHeaders('https://login.microsoftonline.com')).toEqual({
      'content-security-policy':
        "default-src 'none'; style-src 'self'; img-src 'self' data:; form-action 'self' https://login.microsoftonline.com; frame-ancestors 'none'; base-uri 'none'",
      'referrer-policy': 'no-referrer',
      'x-frame-options': 'DENY',
      'x-content-type-options': 'nosniff',
      'cache-control': 'no-store',
      'cross-origin-opener-policy': 'same-origin',
      'x-robots-tag': 'noindex, nofollow',
    });
  });

  it('let the versioned stylesheet be cached', () => {
    const css = stylesheetResponse();
    expect(css.headers).toMatchObject({
      'content-type': 'text/css; charset=utf-8',
      'x-content-type-options': 'nosniff',
    });
    expect(String(css.body)).toContain('@media (min-width: 40rem)');
  });
});
