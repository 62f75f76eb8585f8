import Handlebars from 'handlebars';
import { ValidationError } from '../errors';

/**
 * Invitation e-mails are Handlebars templates written by the provider's operators. Only plain
 * placeholders from a fixed list are allowed, and that is checked when a template is saved. The
 * HTML part escapes the operator's own text as well as every value, so nothing in a customer name
 * or a template can inject markup.
 */
export const invitationPlaceholders = [
  'CustomerId',
  'CustomerName',
  'ProviderName',
  'InvitationUrl',
  'ExpiresAt',
  'AdminEmail',
  'ValidDays',
  // UMP-365 compatible spellings: `{{CustomerAuthenticationPortalUrl}}/{{InvitationId}}` is the link.
  'CustomerAuthenticationPortalUrl',
  'InvitationId',
] as const;
export type InvitationPlaceholder = (typeof invitationPlaceholders)[number];
export type InvitationValues = Record<InvitationPlaceholder, string>;

const allowed = new Set<string>(invitationPlaceholders);

/** Throws a ValidationError naming the field and the offending placeholder. */
export function checkTemplate(field: string, source: string): void {
  let ast: hbs.AST.Program;
  try {
    ast = Handlebars.parse(source);
  } catch (e) {
    throw new ValidationError(`The ${field} template cannot be read.`, [
      {
        field,
        message:
          e instanceof Error
            ? e.message.replace(/:?\s*\n[\s\S]*?(Expecting|$)/, ': $1').trim()
            : 'syntax error',
      },
    ]);
  }
  const problems: string[] = [];
  for (const node of ast.body) {
    if (node.type === 'ContentStatement' || node.type === 'CommentStatement') continue;
    if (node.type !== 'MustacheStatement') {
      problems.push('only plain {{Placeholder}} substitutions are allowed (no blocks or partials)');
      continue;
    }
    const m = node as hbs.AST.MustacheStatement;
    const name = m.path.type === 'PathExpression' ? (m.path as hbs.AST.PathExpression).original : '?';
    if (!m.escaped) problems.push(`{{{${name}}}} would skip escaping; write {{${name}}}`);
    else if (m.params.length > 0 || m.hash) problems.push(`{{${name}}} takes no arguments`);
    else if (!allowed.has(name)) {
      problems.push(`unknown placeholder {{${name}}}; allowed: ${invitationPlaceholders.join(', ')}`);
    }
  }
  if (problems.length > 0) {
    throw new ValidationError(
      `The ${field} template uses something it may not.`,
      [...new Set(problems)].map((message) => ({ field, message })),
    );
  }
}

export interface RenderedInvitation {
  subject: string;
  text: string;
  html: string;
}

export function renderInvitation(
  templates: { subject: string; body: string },
  values: InvitationValues,
): RenderedInvitation {
  const plain = (source: string) => Handlebars.compile(source, { noEscape: true, strict: true })(values);
  const subject = plain(templates.subject)
    .replace(/[\r\n]+/g, ' ')
    .trim();
  const text = plain(templates.body);
  return { subject, text, html: renderHtml(templates.body, values, subject) };
}

function renderHtml(body: string, values: InvitationValues, subject: string): string {
  const ast = Handlebars.parse(body);
  for (const node of ast.body) {
    if (node.type === 'ContentStatement') {
      const c = node as hbs.AST.ContentStatement;
      c.value = Handlebars.escapeExpression(c.value);
    }
  }
  const link = (url: string) =>
    new Handlebars.SafeString(
      `<a href="${Handlebars.escapeExpression(url)}">${Handlebars.escapeExpression(url)}</a>`,
    );
  const htmlValues = { ...values, InvitationUrl: link(values.InvitationUrl) };
  const inner = Handlebars.compile(ast, { strict: true })(htmlValues);
  const paragraphs = inner
    .split(/\r?\n\s*\r?\n/)
    .map((p) => p.trim())
    .filter((p) => p.length > 0)
    .map((p) => `<p style="margin:0 0 16px">${p.replace(/\r?\n/g, '<br>\n')}</p>`)
    .join('\n');
  return `<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<title>${Handlebars.escapeExpression(subject)}</title></head>
<body style="margin:0;padding:24px;background:#f4f6f8;font-family:'Segoe UI',Helvetica,Arial,sans-serif;color:#1b1f24;font-size:15px;line-height:1.5">
<div style="max-width:600px;margin:0 auto;background:#ffffff;border-radius:8px;padding:28px">
${paragraphs}
</div></body></html>`;
}
