import { describe, expect, it } from 'vitest';
import { ValidationError } from '../../../../shared/errors';
import { DEFAULT_BODY, DEFAULT_SUBJECT } from '../../../../shared/onboarding/invitation-settings';
import {
  checkTemplate,
  renderInvitation,
  type InvitationValues,
} from '../../../../shared/onboarding/invitation-template';

const values: InvitationValues = {
  CustomerId: 'contoso',
  CustomerName: 'Contoso <script>alert(1)</script> & "Sons"',
  ProviderName: 'Northwind Voice',
  InvitationUrl: 'https://portal.example/authenticate/AbC_123?x=1&y=2',
  ExpiresAt: '30 November 2026 at 07:00 UTC',
  AdminEmail: 'patti@contoso.com',
  ValidDays: '7',
  CustomerAuthenticationPortalUrl: 'https://portal.example/authenticate',
  InvitationId: 'AbC_123',
};

function fieldsOf(fn: () => void): string[] {
  try {
    fn();
  } catch (e) {
    if (e instanceof ValidationError) return e.fields.map((f) => f.message);
    throw e;
  }
  return [];
}

describe('invitation templates', () => {
  it('accepts the default texts and the UMP-365 style link', () => {
    expect(fieldsOf(() => checkTemplate('bodyTemplate', DEFAULT_BODY))).toEqual([]);
    expect(fieldsOf(() => checkTemplate('subjectTemplate', DEFAULT_SUBJECT))).toEqual([]);
    expect(
      fieldsOf(() =>
        checkTemplate(
          'bodyTemplate',
          'Dear Administrator of {{CustomerId}},\n{{CustomerAuthenticationPortalUrl}}/{{InvitationId}}',
        ),
      ),
    ).toEqual([]);
  });

  it('refuses unknown placeholders, blocks, partials, arguments and unescaped output when saved', () => {
    expect(fieldsOf(() => checkTemplate('bodyTemplate', 'Hi {{AdminPassword}}'))[0]).toContain(
      'unknown placeholder {{AdminPassword}}',
    );
    expect(fieldsOf(() => checkTemplate('bodyTemplate', '{{#if CustomerName}}x{{/if}}'))).toHaveLength(1);
    expect(fieldsOf(() => checkTemplate('bodyTemplate', '{{> footer}}'))).toHaveLength(1);
    expect(fieldsOf(() => checkTemplate('bodyTemplate', '{{CustomerName "x"}}'))[0]).toContain(
      'takes no arguments',
    );
    expect(fieldsOf(() => checkTemplate('bodyTemplate', '{{{CustomerName}}}'))[0]).toContain('skip escaping');
    expect(fieldsOf(() => checkTemplate('bodyTemplate', 'Hi {{CustomerName'))[0]).toMatch(/Parse error/);
  });

  it('renders the plain-text part with values as they are', () => {
    const mail = renderInvitation({ subject: DEFAULT_SUBJECT, body: DEFAULT_BODY }, values);
    expect(mail.subject).toBe(
      'Action needed: connect Contoso <script>alert(1)</script> & "Sons" to Northwind Voice',
    );
    expect(mail.text).toContain(values.InvitationUrl);
    expect(mail.text).toContain('We never see, ask for or store your password.');
    expect(mail.text).toContain('Global Administrator or a Teams Communications Administrator');
  });

  it('escapes every value and the operator text in the HTML part, and links the invitation', () => {
    const mail = renderInvitation(
      {
        subject: 'Hi {{CustomerName}}',
        body: 'Dear <b>admin</b> of {{CustomerName}},\n\nOpen {{InvitationUrl}}',
      },
      values,
    );
    expect(mail.html).not.toContain('<script>');
    expect(mail.html).not.toContain('<b>admin</b>');
    expect(mail.html).toContain('Contoso &lt;script&gt;alert(1)&lt;/script&gt; &amp; &quot;Sons&quot;');
    expect(mail.html).toContain('Dear &lt;b&gt;admin&lt;/b&gt;');
    expect(mail.html).toMatch(
      /<a href="https:\/\/portal\.example\/authenticate\/AbC_123\?x&#x3D;1&amp;y&#x3D;2">/,
    );
    expect(mail.html).toContain('<title>Hi Contoso &lt;script&gt;');
  });

  it('keeps the subject on one line whatever the template or values hold', () => {
    const mail = renderInvitation(
      { subject: 'Line one\r\nBcc: someone@evil.example {{CustomerId}}', body: 'x' },
      values,
    );
    expect(mail.subject).toBe('Line one Bcc: someone@evil.example contoso');
    expect(mail.subject).not.toMatch(/[\r\n]/);
  });
});
