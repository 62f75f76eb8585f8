import { randomUUID } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';

/** The wire details of Key Vault answers: error bodies, skip tokens, JSON in and out. */
export type Reply = { status: number; body?: unknown; headers?: Record<string, string> };

const MAX_BODY = 1024 * 1024;

export function secretNotFound(nameOrId: string): Reply {
  return error(
    404,
    'SecretNotFound',
    `A secret with (name/id) ${nameOrId} was not found in this key vault. If you recently deleted this secret you may be ` +
      'able to recover it using the correct recovery command. For help resolving this issue, please see ' +
      'https://go.microsoft.com/fwlink/?linkid=2125182',
  );
}

export function deletedNotFound(name: string): Reply {
  return error(404, 'SecretNotFound', `Deleted Secret not found: ${name}`);
}

export function error(status: number, code: string, message: string, innerCode?: string): Reply {
  return {
    status,
    body: { error: { code, message, ...(innerCode ? { innererror: { code: innerCode } } : {}) } },
  };
}

/** The service's skip tokens are opaque base64 JSON with a marker; here the marker is an offset. */
export function encodeSkipToken(offset: number): string {
  return Buffer.from(JSON.stringify({ NextMarker: String(offset), TargetLocation: 0 })).toString('base64url');
}

export function decodeSkipToken(token: string | null): number {
  if (!token) return 0;
  try {
    const marker = Number(
      (JSON.parse(Buffer.from(token, 'base64url').toString('utf8')) as { NextMarker?: string }).NextMarker,
    );
    return Number.isInteger(marker) && marker > 0 ? marker : 0;
  } catch {
    return 0;
  }
}

/** The JSON object in the body, or undefined when there is none, it is not JSON, or it is too large. */
export async function readJson(req: IncomingMessage): Promise<Record<string, unknown> | undefined> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of req) {
    size += (chunk as Buffer).length;
    if (size > MAX_BODY) return undefined;
    chunks.push(chunk as Buffer);
  }
  try {
    const parsed: unknown = JSON.parse(Buffer.concat(chunks).toString('utf8'));
    return typeof parsed === 'object' && parsed !== null && !Array.isArray(parsed)
      ? (parsed as Record<string, unknown>)
      : undefined;
  } catch {
    return undefined;
  }
}

export function badBody(): Reply {
  return error(400, 'BadParameter', 'The request body must be a JSON object.');
}

export function send(res: ServerResponse, reply: Reply): void {
  const body = reply.body === undefined ? '' : JSON.stringify(reply.body);
  res.writeHead(reply.status, {
    'x-ms-request-id': randomUUID(),
    ...(body ? { 'Content-Type': 'application/json; charset=utf-8' } : {}),
    ...reply.headers,
  });
  res.end(body);
}
