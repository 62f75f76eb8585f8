import type { IncomingMessage } from 'node:http';
import { readBody, type Reply } from '../https-server';

/** The wire details of Key Vault answers: error bodies, skip tokens, JSON in. */
export type { Reply };

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
  const raw = await readBody(req, MAX_BODY);
  if (raw === undefined) return undefined;
  try {
    const parsed: unknown = JSON.parse(raw.toString('utf8'));
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
