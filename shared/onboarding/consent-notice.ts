import type { OutgoingEmail } from '../email/mailer';
import { html } from '../pages/html';
import type { Customer } from './model';

/** The e-mail telling the provider's team that a customer's admin connected their organization. */
export function consentNotice(
  to: string,
  providerName: string,
  c: Customer & { tenantId: string; consentedBy: string; consentedAt: string },
  organizationName: string,
): OutgoingEmail {
  const rows: [string, string][] = [
    ['Customer', `${c.name} (${c.id})`],
    ['Microsoft 365 organization', organizationName],
    ['Tenant id', c.tenantId],
    ['Approved by', c.consentedBy],
    ['Approved at', c.consentedAt],
  ];
  const text = `${c.name} (${c.id}) connected its Microsoft 365 organization to ${providerName}.\n\n${rows
    .map(([k, v]) => `${k}: ${v}`)
    .join('\n')}\n`;
  const body = html`<!DOCTYPE html>
    <html lang="en">
      <head>
        <meta charset="utf-8" />
        <title>Customer connected</title>
      </head>
      <body>
        <p>${c.name} (${c.id}) connected its Microsoft 365 organization to ${providerName}.</p>
        <table>
          ${rows.map(
            ([k, v]) =>
              html`<tr>
                <th align="left">${k}</th>
                <td>${v}</td>
              </tr>`,
          )}
        </table>
      </body>
    </html>`;
  return {
    to: [{ address: to, displayName: providerName }],
    subject: `Customer connected: ${c.name}`.replace(/[\r\n]+/g, ' '),
    text,
    html: body.value,
  };
}
