import type { EmailAddress, EmailRequest } from './eml';

const ADDRESS = /^[^\s@<>()[\]\\,;:"]+@[^\s@<>()[\]\\,;:"]+\.[^\s@<>()[\]\\,;:"]+$/;

/**
 * The checks the service makes before it accepts a message (the API's required fields, at least one
 * recipient and one body). Returns the problem, or undefined. The service's exact wording of these
 * errors is not documented; these messages name the field instead.
 */
export function emailProblem(body: unknown): string | undefined {
  if (typeof body !== 'object' || body === null) return 'The request body must be a JSON EmailMessage.';
  const msg = body as Partial<EmailRequest>;
  if (typeof msg.senderAddress !== 'string' || !ADDRESS.test(msg.senderAddress)) {
    return 'senderAddress is required and must be an email address.';
  }
  const content = msg.content;
  if (typeof content !== 'object' || content === null) return 'content is required.';
  if (typeof content.subject !== 'string' || content.subject.trim() === '')
    return 'content.subject is required.';
  if (!nonEmpty(content.plainText) && !nonEmpty(content.html)) {
    return 'content needs plainText or html (or both).';
  }
  const recipients = msg.recipients;
  if (typeof recipients !== 'object' || recipients === null) return 'recipients is required.';
  const lists = { to: recipients.to, cc: recipients.cc, bcc: recipients.bcc, replyTo: msg.replyTo };
  let count = 0;
  for (const [field, list] of Object.entries(lists)) {
    if (list === undefined) continue;
    if (!Array.isArray(list)) return `${field} must be an array of addresses.`;
    const bad = (list as EmailAddress[]).findIndex(
      (a) => typeof a?.address !== 'string' || !ADDRESS.test(a.address),
    );
    if (bad >= 0) return `${field}[${bad}].address is not a valid email address.`;
    if (field !== 'replyTo') count += list.length;
  }
  // The API marks `to` required, but the SDK drops that rule and its recorded tests show the service
  // accepting a message with only cc and bcc: what counts is at least one recipient.
  if (count === 0) return 'recipients must name at least one address in to, cc or bcc.';
  for (const [i, a] of (msg.attachments ?? []).entries()) {
    if (!nonEmpty(a?.name) || !nonEmpty(a?.contentType) || !nonEmpty(a?.contentInBase64)) {
      return `attachments[${i}] needs name, contentType and contentInBase64.`;
    }
    if (!/^[A-Za-z0-9+/]*={0,2}$/.test(a.contentInBase64.replace(/\s+/g, ''))) {
      return `attachments[${i}].contentInBase64 is not base64.`;
    }
  }
  return undefined;
}

function nonEmpty(s: unknown): s is string {
  return typeof s === 'string' && s.length > 0;
}
