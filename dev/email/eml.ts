import { randomBytes } from 'node:crypto';
import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import {
  base64Lines,
  CRLF,
  decodeQuotedPrintable,
  decodeWords,
  encodeWords,
  foldedHeader,
  formatAddress,
  parseAddresses,
  quotedPrintable,
} from './mime';

/** The body of `POST /emails:send` (EmailMessage in the service's API). */
export interface EmailAddress {
  address: string;
  displayName?: string;
}

export interface EmailRequest {
  senderAddress: string;
  content: { subject: string; plainText?: string; html?: string };
  recipients: { to?: EmailAddress[]; cc?: EmailAddress[]; bcc?: EmailAddress[] };
  replyTo?: EmailAddress[];
  headers?: Record<string, string>;
  attachments?: { name: string; contentType: string; contentInBase64: string; contentId?: string }[];
  userEngagementTrackingDisabled?: boolean;
}

/** An outbox file read back. Header names are lower-case; addresses are bare. */
export interface OutboxMessage {
  file: string;
  operationId: string | undefined;
  from: string | undefined;
  to: string[];
  cc: string[];
  bcc: string[];
  replyTo: string[];
  subject: string;
  text: string | undefined;
  html: string | undefined;
  attachments: { filename: string | undefined; contentType: string; content: Buffer }[];
  headers: Record<string, string>;
}

const STRUCTURAL =
  /^(from|to|cc|bcc|reply-to|subject|date|message-id|mime-version|content-.*|x-operation-id)$/i;

/**
 * The message as the recipient's mail server would get it: RFC 5322 with MIME bodies. Bcc stays in
 * the file (real delivery drops it) so tests can see who got a blind copy.
 */
export function renderEml(
  msg: EmailRequest,
  meta: { operationId: string; date: Date; host: string },
): string {
  const head: string[] = [
    `Message-ID: <${meta.operationId}@${meta.host}>`,
    `Date: ${meta.date.toUTCString().replace('GMT', '+0000')}`,
    `From: ${msg.senderAddress}`,
  ];
  const lists: [string, EmailAddress[] | undefined][] = [
    ['Reply-To', msg.replyTo],
    ['To', msg.recipients.to],
    ['Cc', msg.recipients.cc],
    ['Bcc', msg.recipients.bcc],
  ];
  for (const [name, list] of lists) if (list?.length) head.push(foldedHeader(name, list.map(formatAddress)));
  head.push(`Subject: ${encodeWords(msg.content.subject)}`);
  for (const [name, value] of Object.entries(msg.headers ?? {})) {
    if (/^[!-9;-~]+$/.test(name) && !STRUCTURAL.test(name)) head.push(`${name}: ${encodeWords(value)}`);
  }
  head.push(`X-Operation-Id: ${meta.operationId}`, 'MIME-Version: 1.0');

  const bodies = [
    msg.content.plainText !== undefined ? textPart('text/plain', msg.content.plainText) : undefined,
    msg.content.html !== undefined ? textPart('text/html', msg.content.html) : undefined,
  ].filter((p): p is string => p !== undefined);
  let entity = bodies.length === 1 ? (bodies[0] ?? '') : multipart('alternative', bodies);
  if (msg.attachments?.length) entity = multipart('mixed', [entity, ...msg.attachments.map(attachmentPart)]);
  return `${head.join(CRLF)}${CRLF}${entity}`;
}

function textPart(type: string, text: string): string {
  return [
    `Content-Type: ${type}; charset=utf-8`,
    'Content-Transfer-Encoding: quoted-printable',
    '',
    quotedPrintable(text),
  ].join(CRLF);
}

function attachmentPart(a: NonNullable<EmailRequest['attachments']>[number]): string {
  const filename = /^[\x20-\x7e]*$/.test(a.name)
    ? `filename="${a.name.replace(/(["\\])/g, '\\$1')}"`
    : `filename*=UTF-8''${encodeURIComponent(a.name)}`;
  return [
    `Content-Type: ${a.contentType}`,
    'Content-Transfer-Encoding: base64',
    `Content-Disposition: ${a.contentId ? 'inline' : 'attachment'}; ${filename}`,
    ...(a.contentId ? [`Content-ID: <${a.contentId}>`] : []),
    '',
    base64Lines(Buffer.from(a.contentInBase64, 'base64')),
  ].join(CRLF);
}

function multipart(subtype: string, parts: string[]): string {
  const boundary = `=_switchboard_${randomBytes(12).toString('hex')}`;
  return [
    `Content-Type: multipart/${subtype};${CRLF} boundary="${boundary}"`,
    '',
    ...parts.flatMap((p) => [`--${boundary}`, p]),
    `--${boundary}--`,
    '',
  ].join(CRLF);
}

/** Every .eml file in the folder, oldest first (their names start with the time they were written). */
export function readOutbox(dir: string): OutboxMessage[] {
  let names: string[];
  try {
    names = readdirSync(dir).filter((n) => n.endsWith('.eml'));
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return [];
    throw e;
  }
  return names
    .sort()
    .map((name) => parseEml(readFileSync(path.join(dir, name), 'utf8'), path.join(dir, name)));
}

export function parseEml(raw: string, file = ''): OutboxMessage {
  const root = parseEntity(raw);
  const out: OutboxMessage = {
    file,
    operationId: root.headers['x-operation-id'],
    from: parseAddresses(root.headers.from)[0],
    to: parseAddresses(root.headers.to),
    cc: parseAddresses(root.headers.cc),
    bcc: parseAddresses(root.headers.bcc),
    replyTo: parseAddresses(root.headers['reply-to']),
    subject: decodeWords(root.headers.subject ?? ''),
    text: undefined,
    html: undefined,
    attachments: [],
    headers: root.headers,
  };
  collectParts(root, out);
  return out;
}

interface Entity {
  headers: Record<string, string>;
  body: string;
}

function parseEntity(raw: string): Entity {
  const split = raw.search(/\r?\n\r?\n/);
  const head = split < 0 ? raw : raw.slice(0, split);
  const body = split < 0 ? '' : raw.slice(split).replace(/^\r?\n\r?\n/, '');
  const headers: Record<string, string> = {};
  for (const line of head.replace(/\r?\n(?=[ \t])/g, '').split(/\r?\n/)) {
    const colon = line.indexOf(':');
    if (colon > 0) headers[line.slice(0, colon).trim().toLowerCase()] = line.slice(colon + 1).trim();
  }
  return { headers, body };
}

function collectParts(entity: Entity, out: OutboxMessage): void {
  const contentType = entity.headers['content-type'] ?? 'text/plain';
  const type = (contentType.split(';')[0] ?? '').trim().toLowerCase();
  if (type.startsWith('multipart/')) {
    const boundary = parameter(contentType, 'boundary');
    if (!boundary) return;
    const delimiter = `--${boundary}`;
    const sections = entity.body.split(
      new RegExp(`\\r?\\n?${escapeRegExp(delimiter)}(?:--)?[ \\t]*\\r?\\n?`),
    );
    // Sections before the first and after the closing delimiter are preamble and epilogue.
    for (const section of sections.slice(1, -1)) collectParts(parseEntity(section), out);
    return;
  }
  const encoding = (entity.headers['content-transfer-encoding'] ?? '7bit').toLowerCase();
  const bytes =
    encoding === 'base64'
      ? Buffer.from(entity.body.replace(/\s+/g, ''), 'base64')
      : encoding === 'quoted-printable'
        ? decodeQuotedPrintable(entity.body)
        : Buffer.from(entity.body, 'utf8');
  const disposition = entity.headers['content-disposition'];
  if (disposition || !type.startsWith('text/')) {
    const filename = disposition
      ? (parameter(disposition, 'filename') ??
        (() => {
          const star = parameter(disposition, 'filename*');
          return star ? decodeURIComponent(star.replace(/^[^']*'[^']*'/, '')) : undefined;
        })())
      : undefined;
    out.attachments.push({ filename, contentType: type, content: bytes });
    return;
  }
  // Line breaks come back as "\n", as a mail client would show them.
  const text = new TextDecoder(parameter(contentType, 'charset') ?? 'utf-8')
    .decode(bytes)
    .replace(/\r\n/g, '\n');
  if (type === 'text/html') out.html ??= text;
  else if (type === 'text/plain') out.text ??= text;
}

function parameter(headerValue: string, name: string): string | undefined {
  const re = new RegExp(`;\\s*${escapeRegExp(name)}=("(?:[^"\\\\]|\\\\.)*"|[^;\\s]+)`, 'i');
  const m = re.exec(headerValue)?.[1];
  return m?.startsWith('"') ? m.slice(1, -1).replace(/\\(.)/g, '$1') : m;
}

function escapeRegExp(s: string): string {
  return s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}
