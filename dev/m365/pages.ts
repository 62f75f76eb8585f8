import { escapeHtml as h } from './http-util';

/**
 * The simulator's HTML: plain forms and CSS, no script, looking roughly like Microsoft's sign-in
 * pages. Every value is escaped. Forms carry only the pending request id (and the button pressed);
 * the authorization request itself stays on the server. Buttons and fields have stable accessible
 * names for Playwright: an account button is named by its UPN; "Accept", "Cancel", and the checkbox
 * "Consent on behalf of your organization".
 */

const css = `
*{box-sizing:border-box}
body{margin:0;font-family:"Segoe UI","Segoe UI Web (West European)",-apple-system,"Helvetica Neue",Arial,sans-serif;
  background:#f2f2f2;color:#1b1b1b;font-size:15px}
main{max-width:440px;margin:64px auto 24px;background:#fff;box-shadow:0 2px 6px rgba(0,0,0,.2);padding:44px}
.logo{display:flex;align-items:center;gap:8px;color:#737373;font-weight:600;font-size:17px;margin-bottom:16px}
.logo i{display:grid;grid-template-columns:9px 9px;gap:2px}
.logo b{width:9px;height:9px;display:block}
.upn{font-size:15px;margin:0 0 8px}
h1{font-size:24px;font-weight:600;margin:8px 0 16px;line-height:28px}
p{line-height:20px}
.tenant{color:#616161;font-size:13px;margin:16px 0 4px;text-transform:uppercase;letter-spacing:.03em}
.accounts{list-style:none;margin:0 -44px;padding:0}
.accounts li{border-top:1px solid #e6e6e6}
.accounts button{display:flex;align-items:center;gap:12px;width:100%;padding:12px 44px;border:0;background:none;
  text-align:left;font:inherit;color:inherit;cursor:pointer}
.accounts button:hover,.accounts button:focus{background:#e6e6e6;outline:none}
.avatar{width:40px;height:40px;border-radius:50%;background:#0067b8;color:#fff;display:flex;align-items:center;
  justify-content:center;font-weight:600;flex:none}
.who{min-width:0}.who small{display:block;color:#616161;overflow-wrap:anywhere}
.tag{display:inline-block;font-size:11px;padding:0 6px;margin-left:4px;border:1px solid #8a8886;border-radius:2px;color:#605e5c}
.app{display:flex;gap:12px;align-items:center;margin:16px 0}
.app-icon{width:48px;height:48px;background:#2f2f2f;color:#fff;display:flex;align-items:center;justify-content:center;
  font-size:22px;font-weight:600;flex:none}
.app-name{font-weight:600}
.unverified{color:#a4262c}
ul.perms{padding-left:20px}
ul.perms li{margin:6px 0}
.small{font-size:13px;color:#616161}
label.org{display:flex;gap:8px;align-items:flex-start;margin:16px 0}
.buttons{display:flex;justify-content:flex-end;gap:8px;margin-top:24px;flex-wrap:wrap}
.buttons button{min-width:108px;height:32px;padding:4px 12px;font:inherit;border:1px solid #8a8886;background:#ccc;cursor:pointer}
.buttons button.primary{background:#0067b8;border-color:#0067b8;color:#fff}
.error{color:#a4262c}
pre{white-space:pre-wrap;font-size:12px;background:#f8f8f8;padding:8px}
table{border-collapse:collapse;width:100%;font-size:13px}td,th{text-align:left;padding:4px 6px;border-bottom:1px solid #e6e6e6}
main.wide{max-width:960px}
footer{text-align:center;color:#616161;font-size:12px}
`;

const logo =
  '<div class="logo" aria-hidden="true"><i><b style="background:#f25022"></b><b style="background:#7fba00"></b>' +
  '<b style="background:#00a4ef"></b><b style="background:#ffb900"></b></i>Microsoft</div>';

export function page(title: string, body: string, wide = false): string {
  return (
    `<!doctype html><html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width,initial-scale=1">` +
    `<title>${h(title)}</title><style>${css}</style></head><body><main${wide ? ' class="wide"' : ''}>${logo}${body}</main>` +
    `<footer>Simulated Microsoft 365 for local development and tests. No real account is used.</footer></body></html>`
  );
}

export interface AccountChoice {
  userId: string;
  displayName: string;
  userPrincipalName: string;
  tenantName: string;
  tags: string[];
}

export function signInPage(input: {
  requestId: string;
  action: string;
  appName: string;
  accounts: AccountChoice[];
}): string {
  const byTenant = new Map<string, AccountChoice[]>();
  for (const a of input.accounts) byTenant.set(a.tenantName, [...(byTenant.get(a.tenantName) ?? []), a]);
  const groups = [...byTenant]
    .map(
      ([tenant, accounts]) =>
        `<div class="tenant">${h(tenant)}</div><ul class="accounts">` +
        accounts
          .map(
            (a) =>
              `<li><button type="submit" name="account" value="${h(a.userId)}" aria-label="${h(a.userPrincipalName)}">` +
              `<span class="avatar" aria-hidden="true">${h(initials(a.displayName))}</span>` +
              `<span class="who">${h(a.displayName)}${a.tags.map((t) => `<span class="tag">${h(t)}</span>`).join('')}` +
              `<small>${h(a.userPrincipalName)}</small></span></button></li>`,
          )
          .join('') +
        '</ul>',
    )
    .join('');
  return page(
    'Sign in to your account',
    `<h1>Pick an account</h1><p>to continue to <strong>${h(input.appName)}</strong></p>` +
      `<form method="post" action="${h(input.action)}"><input type="hidden" name="request" value="${h(input.requestId)}">` +
      (groups || '<p class="error">No accounts can sign in here.</p>') +
      '</form>',
  );
}

export interface ConsentLine {
  scope: string;
  display: string;
  adminConsentRequired: boolean;
}

export function consentPage(input: {
  requestId: string;
  action: string;
  appName: string;
  publisherDomain: string;
  upn: string;
  permissions: ConsentLine[];
  canConsentForOrganization: boolean;
}): string {
  const lines = input.permissions
    .map(
      (p) =>
        `<li>${h(p.display)}${p.adminConsentRequired ? ' <span class="small">(admin consent required)</span>' : ''}` +
        `<br><span class="small">${h(p.scope)}</span></li>`,
    )
    .join('');
  const org = input.canConsentForOrganization
    ? '<label class="org"><input type="checkbox" id="consent_on_behalf" name="consent_on_behalf" value="true">' +
      '<span>Consent on behalf of your organization</span></label>'
    : '';
  return page(
    'Permissions requested',
    `<p class="upn">${h(input.upn)}</p><h1>Permissions requested</h1>` +
      `<div class="app"><div class="app-icon" aria-hidden="true">${h(initials(input.appName))}</div><div>` +
      `<div class="app-name">${h(input.appName)}</div><div class="small">${h(input.publisherDomain)} ` +
      '<span class="unverified">unverified</span></div></div></div>' +
      `<p>This app would like to:</p><ul class="perms">${lines}</ul>` +
      `<form method="post" action="${h(input.action)}"><input type="hidden" name="request" value="${h(input.requestId)}">` +
      org +
      '<p class="small">Accepting these permissions means that you allow this app to use your data as specified in ' +
      'their terms of service and privacy statement. You can change these permissions at https://myapps.microsoft.com.</p>' +
      '<div class="buttons"><button type="submit" name="action" value="cancel">Cancel</button>' +
      '<button type="submit" name="action" value="accept" class="primary">Accept</button></div></form>',
  );
}

export function needAdminApprovalPage(input: {
  requestId: string;
  action: string;
  appName: string;
  publisherDomain: string;
  upn: string;
  permissions: ConsentLine[];
}): string {
  return page(
    'Need admin approval',
    `<p class="upn">${h(input.upn)}</p><h1>Need admin approval</h1>` +
      `<div class="app"><div class="app-icon" aria-hidden="true">${h(initials(input.appName))}</div><div>` +
      `<div class="app-name">${h(input.appName)}</div><div class="small">${h(input.publisherDomain)} ` +
      '<span class="unverified">unverified</span></div></div></div>' +
      `<p>${h(input.appName)} needs permission to access resources in your organization that only an admin can grant. ` +
      'Please ask an admin to grant permission to this app before you can use it.</p>' +
      `<ul class="perms">${input.permissions.map((p) => `<li>${h(p.display)}</li>`).join('')}</ul>` +
      `<form method="post" action="${h(input.action)}"><input type="hidden" name="request" value="${h(input.requestId)}">` +
      '<div class="buttons"><button type="submit" name="action" value="switch">Have an admin account? Sign in with that account</button>' +
      '<button type="submit" name="action" value="cancel" class="primary">Return to the application without granting consent</button></div></form>',
  );
}

export function errorPage(input: { title: string; description: string }): string {
  return page(
    input.title,
    `<h1>${h(input.title)}</h1><p class="error">${h(input.description.split('\r\n')[0] ?? '')}</p>` +
      `<p class="small">Troubleshooting details</p><pre>${h(input.description)}</pre>`,
  );
}

/** response_mode=form_post: Microsoft's page posts itself with script; this one needs a click. */
export function formPostPage(action: string, fields: Record<string, string>): string {
  const inputs = Object.entries(fields)
    .map(([k, v]) => `<input type="hidden" name="${h(k)}" value="${h(v)}">`)
    .join('');
  return page(
    'Working...',
    `<h1>Signing you in</h1><form method="post" action="${h(action)}">${inputs}` +
      '<div class="buttons"><button type="submit" class="primary">Continue</button></div></form>',
  );
}

export function initials(name: string): string {
  return (
    name
      .split(/\s+/)
      .filter((w) => /^[\p{L}\p{N}]/u.test(w))
      .slice(0, 2)
      .map((w) => w.charAt(0).toUpperCase())
      .join('') || '?'
  );
}
