import { EmailClient, type EmailMessage } from '@azure/communication-email';
import { RestError, type PipelinePolicy, type PipelineRequest } from '@azure/core-rest-pipeline';
import { randomBytes, randomUUID } from 'node:crypto';
import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { hmacProblem } from '../../../dev/email/hmac';
import { readOutbox, startEmailSimulator, type EmailSimulator } from '../../../dev/email/server';
import { ensureDevCertificates } from '../../../dev/tls/certs';

const accessKey = randomBytes(32).toString('base64');
let outboxDir: string;
let email: EmailSimulator;

const message = (overrides: Partial<EmailMessage> = {}): EmailMessage => ({
  senderAddress: 'DoNotReply@switchboard.example',
  content: {
    subject: 'Your invitation',
    plainText: 'Open https://portal.example/invite/abc123 to connect your tenant.\nThanks.',
    html: '<p>Open <a href="https://portal.example/invite/abc123">this link</a> to connect your tenant.</p>',
  },
  recipients: {
    to: [{ address: 'admin@contoso.example', displayName: 'Contoso Admin' }],
    cc: [{ address: 'ops@contoso.example' }],
    bcc: [{ address: 'audit@provider.example' }],
  },
  replyTo: [{ address: 'support@provider.example', displayName: 'Support, Provider' }],
  ...overrides,
});

/** A policy that edits the serialized body before the client signs it: how to send what the SDK itself refuses to. */
function editBody(edit: (body: Record<string, unknown>) => void): {
  policy: PipelinePolicy;
  position: 'perCall';
} {
  return {
    position: 'perCall',
    policy: {
      name: 'editBody',
      sendRequest(request, next) {
        if (typeof request.body === 'string') {
          const body = JSON.parse(request.body) as Record<string, unknown>;
          edit(body);
          request.body = JSON.stringify(body);
        }
        return next(request);
      },
    },
  };
}

const outboxFiles = () => readdirSync(outboxDir).filter((f) => f.endsWith('.eml'));

async function restError(promise: Promise<unknown>): Promise<RestError> {
  const e = await promise.then(
    () => undefined,
    (err: unknown) => err,
  );
  expect(e).toBeInstanceOf(RestError);
  return e as RestError;
}

beforeAll(async () => {
  const { cert, key } = await ensureDevCertificates();
  outboxDir = mkdtempSync(path.join(tmpdir(), 'outbox-'));
  email = await startEmailSimulator({ tls: { cert, key }, accessKey, outboxDir });
});

afterAll(async () => {
  await email?.stop();
  rmSync(outboxDir, { recursive: true, force: true });
});

beforeEach(() => {
  email.setFailure(undefined);
});

describe('Communication Services Email simulator with the real EmailClient', () => {
  it('accepts a signed message, polls to Succeeded and writes a valid .eml with both parts', async () => {
    const poller = await new EmailClient(email.connectionString).beginSend(message(), {
      updateIntervalInMs: 0,
    });
    const result = await poller.pollUntilDone();
    expect(result.status).toBe('Succeeded');
    expect(result.id).toMatch(/^[0-9a-f-]{36}$/);

    const [accepted] = email.messages().filter((m) => m.operationId === result.id);
    expect(accepted?.request.content.subject).toBe('Your invitation');
    const file = accepted!.file!;
    expect(path.basename(file)).toMatch(
      new RegExp(`^\\d{4}-\\d{2}-\\d{2}T\\d{2}-\\d{2}-\\d{2}\\.\\d{3}Z-${result.id}\\.eml$`),
    );

    const raw = readFileSync(file, 'utf8');
    expect(raw.replace(/\r\n/g, '')).not.toMatch(/[\r\n]/); // CRLF line endings only
    expect(raw.split('\r\n').every((line) => line.length <= 998)).toBe(true);
    const head = raw.slice(0, raw.indexOf('\r\n\r\n'));
    expect(head).toMatch(/^MIME-Version: 1\.0$/m);
    expect(head).toMatch(/^Date: \w{3}, \d{2} \w{3} \d{4} \d{2}:\d{2}:\d{2} \+0000$/m);
    expect(head).toMatch(new RegExp(`^Message-ID: <${result.id}@switchboard\\.example>$`, 'm'));
    expect(head).toMatch(/^Content-Type: multipart\/alternative;\r\n boundary="[^"]+"$/m);
    expect(raw).toMatch(
      /Content-Type: text\/plain; charset=utf-8\r\nContent-Transfer-Encoding: quoted-printable/,
    );
    expect(raw).toMatch(
      /Content-Type: text\/html; charset=utf-8\r\nContent-Transfer-Encoding: quoted-printable/,
    );
    expect(raw).toContain('href=3D"https://portal.example/invite/abc123"');

    const [read] = readOutbox(outboxDir).filter((m) => m.operationId === result.id);
    expect(read).toMatchObject({
      from: 'DoNotReply@switchboard.example',
      to: ['admin@contoso.example'],
      cc: ['ops@contoso.example'],
      bcc: ['audit@provider.example'],
      replyTo: ['support@provider.example'],
      subject: 'Your invitation',
      text: 'Open https://portal.example/invite/abc123 to connect your tenant.\nThanks.',
    });
    expect(read?.html).toContain('<a href="https://portal.example/invite/abc123">');
    expect(read?.headers.to).toBe('Contoso Admin <admin@contoso.example>');
    expect(read?.headers['reply-to']).toBe('"Support, Provider" <support@provider.example>');
  });

  it('encodes a non-ASCII subject, names and body, and reads them back', async () => {
    const subject = 'Einladung für Müller & Söhne – bitte bestätigen Sie Ihren Zugang zu Microsoft 365 ✓';
    const poller = await new EmailClient(email.connectionString).beginSend(
      message({
        content: { subject, plainText: 'Grüße aus Zürich — €100' },
        recipients: { to: [{ address: 'jose@contoso.example', displayName: 'José Núñez' }] },
      }),
      { updateIntervalInMs: 0 },
    );
    const { id } = await poller.pollUntilDone();
    const [read] = readOutbox(outboxDir).filter((m) => m.operationId === id);
    const raw = readFileSync(read!.file, 'utf8');
    const head = raw.slice(0, raw.indexOf('\r\n\r\n'));
    expect(head).toMatch(/^[\x20-\x7e\r\n]*$/); // headers are pure ASCII
    expect(head).toMatch(/^Subject: =\?UTF-8\?B\?[A-Za-z0-9+/=]+\?=\r\n =\?UTF-8\?B\?/m); // folded encoded words
    expect(head.split('\r\n').every((line) => line.length <= 78)).toBe(true);
    expect(read?.subject).toBe(subject);
    expect(read?.text).toBe('Grüße aus Zürich — €100');
    expect(read?.html).toBeUndefined();
    expect(read?.headers['content-type']).toBe('text/plain; charset=utf-8');
    expect(read?.headers.to).toMatch(/^=\?UTF-8\?B\?.+\?= <jose@contoso\.example>$/);
  });

  it('refuses a wrong access key with 401 Denied and writes nothing', async () => {
    const before = outboxFiles().length;
    const count = email.messages().length;
    const wrong = `endpoint=${email.url}/;accesskey=${randomBytes(32).toString('base64')}`;
    const e = await restError(new EmailClient(wrong).beginSend(message(), { updateIntervalInMs: 0 }));
    expect(e.statusCode).toBe(401);
    expect(e.code).toBe('Denied');
    expect(outboxFiles()).toHaveLength(before);
    expect(email.messages()).toHaveLength(count);
  });

  it('refuses a body changed after signing (content hash mismatch)', async () => {
    const tamper: PipelinePolicy = {
      name: 'tamper',
      sendRequest(request, next) {
        if (typeof request.body === 'string')
          request.body = request.body.replace('Your invitation', 'Changed');
        return next(request);
      },
    };
    const client = new EmailClient(email.connectionString, {
      additionalPolicies: [{ policy: tamper, position: 'perRetry' }],
    });
    const e = await restError(client.beginSend(message(), { updateIntervalInMs: 0 }));
    expect(e.statusCode).toBe(401);
    expect(e.message).toContain("'x-ms-content-sha256' differs");
  });

  it('refuses a request whose signed date is more than 15 minutes off', async () => {
    let signed: PipelineRequest | undefined;
    const capture: PipelinePolicy = {
      name: 'capture',
      sendRequest(request, next) {
        signed ??= request;
        return next(request);
      },
    };
    const client = new EmailClient(email.connectionString, {
      additionalPolicies: [{ policy: capture, position: 'perRetry' }],
    });
    await (await client.beginSend(message(), { updateIntervalInMs: 0 })).pollUntilDone();
    const url = new URL(signed!.url);
    const req = {
      method: signed!.method,
      pathAndQuery: url.pathname + url.search,
      headers: Object.fromEntries([...signed!.headers].map(([k, v]) => [k.toLowerCase(), v])),
      body: Buffer.from(String(signed!.body)),
    };
    const key = Buffer.from(accessKey, 'base64');
    const date = Date.parse(req.headers['x-ms-date'] ?? '');
    expect(hmacProblem(req, key, date + 14 * 60_000)).toBeUndefined();
    expect(hmacProblem(req, key, date + 16 * 60_000)).toMatch(/15 minutes/);
    expect(hmacProblem(req, key, date - 16 * 60_000)).toMatch(/15 minutes/);
  });

  it('answers a message without subject, recipients or body with 400 and writes nothing', async () => {
    const before = outboxFiles().length;
    const noSubject = new EmailClient(email.connectionString, {
      additionalPolicies: [editBody((b) => delete (b.content as Record<string, unknown>).subject)],
    });
    const cases: Promise<unknown>[] = [
      noSubject.beginSend(message()),
      new EmailClient(email.connectionString).beginSend(message({ recipients: { to: [] } })),
      new EmailClient(email.connectionString, {
        additionalPolicies: [editBody((b) => (b.content = { subject: 'No body' }))],
      }).beginSend(message()),
      new EmailClient(email.connectionString).beginSend(
        message({ recipients: { to: [{ address: 'not-an-address' }] } }),
      ),
    ];
    for (const attempt of cases) {
      const e = await restError(attempt);
      expect(e.statusCode).toBe(400);
      expect(e.code).toBe('BadRequest');
    }
    expect(outboxFiles()).toHaveLength(before);
  });

  it('accepts cc-only recipients, as the service does', async () => {
    const poller = await new EmailClient(email.connectionString).beginSend(
      message({ recipients: { cc: [{ address: 'ops@contoso.example' }] } }),
      { updateIntervalInMs: 0 },
    );
    expect((await poller.pollUntilDone()).status).toBe('Succeeded');
  });

  it('reports a Failed operation so pollUntilDone throws, and delivers nothing', async () => {
    const before = outboxFiles().length;
    email.setFailure({
      code: 'EmailDropped',
      message: 'Email was dropped after several attempts to deliver.',
    });
    const poller = await new EmailClient(email.connectionString).beginSend(message(), {
      updateIntervalInMs: 0,
    });
    await expect(poller.pollUntilDone()).rejects.toThrow(/dropped/);
    expect(outboxFiles()).toHaveLength(before);
    expect(email.messages().at(-1)).toMatchObject({ status: 'Failed', error: { code: 'EmailDropped' } });
  });

  it('treats a repeated Operation-Id as the same operation', async () => {
    const before = outboxFiles().length;
    const operationId = randomUUID();
    const client = new EmailClient(email.connectionString);
    const first = await (
      await client.beginSend(message(), { operationId, updateIntervalInMs: 0 })
    ).pollUntilDone();
    const again = await (
      await client.beginSend(message(), { operationId, updateIntervalInMs: 0 })
    ).pollUntilDone();
    expect(first.id).toBe(operationId);
    expect(again.id).toBe(operationId);
    expect(outboxFiles()).toHaveLength(before + 1);
  });

  it('writes attachments as a multipart/mixed part', async () => {
    const content = Buffer.from('name,value\nrefresh,ok\n');
    const poller = await new EmailClient(email.connectionString).beginSend(
      message({
        attachments: [
          { name: 'report.csv', contentType: 'text/csv', contentInBase64: content.toString('base64') },
        ],
      }),
      { updateIntervalInMs: 0 },
    );
    const { id } = await poller.pollUntilDone();
    const [read] = readOutbox(outboxDir).filter((m) => m.operationId === id);
    expect(read?.headers['content-type']).toMatch(/^multipart\/mixed/);
    expect(read?.text).toContain('invite/abc123');
    expect(read?.attachments).toEqual([{ filename: 'report.csv', contentType: 'text/csv', content }]);
  });
});
