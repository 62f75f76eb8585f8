import type { SimContext } from './context';
import { escapeHtml as h } from './http-util';
import { page } from './pages';

/** GET / — who is in the simulated directory, and how to point an app at it. */
export function indexPage(ctx: SimContext, base: string): string {
  const { state } = ctx;
  const tenants = state.tenants
    .map((t) => {
      const roleName = (id: string) =>
        t.directoryRoles.find((r) => r.roleTemplateId === id)?.displayName ?? id;
      const users = t.users
        .map(
          (u) =>
            `<tr><td>${h(u.displayName)}</td><td>${h(u.userPrincipalName)}</td><td><code>${h(u.id)}</code></td>` +
            `<td>${h(u.userType)}${u.accountEnabled ? '' : ', disabled'}</td><td>${h(u.roleTemplateIds.map(roleName).join(', '))}</td></tr>`,
        )
        .join('');
      const consented = Object.entries(state.grants[t.id] ?? {})
        .map(([clientId, g]) => `${clientId}: ${[...g.adminScopes].join(' ') || '(service principal only)'}`)
        .join('; ');
      return (
        `<h2>${h(t.displayName)}</h2><p class="small">Tenant id <code>${h(t.id)}</code> · domains ` +
        `${h(t.verifiedDomains.map((d) => d.name).join(', '))}${consented ? ` · admin consent: ${h(consented)}` : ''}</p>` +
        (users
          ? `<table><thead><tr><th>Name</th><th>UPN</th><th>Object id</th><th>Type</th><th>Roles</th></tr></thead><tbody>${users}</tbody></table>`
          : '<p class="small">No users.</p>')
      );
    })
    .join('');
  const apps = state.apps
    .map(
      (a) =>
        `<li><strong>${h(a.displayName)}</strong> client id <code>${h(a.clientId)}</code>, secret ` +
        `<code>${h(a.clientSecrets[0]?.value ?? '(none)')}</code>, redirect URIs ${h(a.redirectUris.join(', ') || '(none)')}` +
        `${ctx.allowLoopbackRedirects ? ' and any https://127.0.0.1:* or https://localhost:* URI' : ''}</li>`,
    )
    .join('');
  return page(
    'Simulated Microsoft 365',
    `<h1>Simulated Microsoft 365</h1>` +
      `<p>Authority <code>${h(base)}/organizations</code> (MSAL: <code>knownAuthorities: ['${h(base.replace('https://', ''))}']</code>), ` +
      `Graph <code>${h(base)}/v1.0/</code>, managed identity <code>${h(base)}/msi/token</code>.</p>` +
      `<h2>App registrations</h2><ul>${apps}</ul>${tenants}`,
    true,
  );
}
