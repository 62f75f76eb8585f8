import { randomUUID } from 'node:crypto';
import type { Exchange } from '../context';
import { headerValue } from '../http-util';

/**
 * Graph's response envelope: JSON with OData headers, request-id / client-request-id, and errors as
 * { error: { code, message, innerError: { date, request-id, client-request-id } } }
 * (https://learn.microsoft.com/graph/errors shows the envelope).
 */

export const graphContentType =
  'application/json;odata.metadata=minimal;odata.streaming=true;IEEE754Compatible=false;charset=utf-8';

export function graphHeaders(ex: Exchange): Record<string, string> {
  const clientRequestId = headerValue(ex.req, 'client-request-id') ?? randomUUID();
  return {
    'request-id': randomUUID(),
    'client-request-id': clientRequestId,
    'x-ms-ags-diagnostic': JSON.stringify({
      ServerInfo: { DataCenter: 'Local', Slice: 'E', Ring: '5', RoleInstance: 'm365-simulator' },
    }),
    'OData-Version': '4.0',
    'Cache-Control': 'no-cache',
  };
}

export function sendGraph(
  ex: Exchange,
  status: number,
  body: unknown,
  extra: Record<string, string> = {},
): void {
  const text = JSON.stringify(body);
  ex.res.writeHead(status, {
    ...graphHeaders(ex),
    'Content-Type': graphContentType,
    'Content-Length': String(Buffer.byteLength(text)),
    ...extra,
  });
  ex.res.end(text);
}

export function sendGraphError(
  ex: Exchange,
  status: number,
  code: string,
  message: string,
  now: number,
  extra: Record<string, string> = {},
): void {
  const headers = graphHeaders(ex);
  const body = {
    error: {
      code,
      message,
      innerError: {
        date: new Date(now).toISOString().replace(/\.\d+Z$/, ''),
        'request-id': headers['request-id'],
        'client-request-id': headers['client-request-id'],
      },
    },
  };
  const text = JSON.stringify(body);
  ex.res.writeHead(status, {
    ...headers,
    'Content-Type': 'application/json',
    'Content-Length': String(Buffer.byteLength(text)),
    ...extra,
  });
  ex.res.end(text);
}

export const graphErrors = {
  insufficientPrivileges: 'Insufficient privileges to complete the operation.',
  notFound: (id: string) =>
    `Resource '${id}' does not exist or one of its queried reference-property objects are not present.`,
};
