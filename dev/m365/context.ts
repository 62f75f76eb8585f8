import type { IncomingMessage, ServerResponse } from 'node:http';
import type { SigningKeys } from './keys';
import type { SeedApp } from './seed';
import type { SimState } from './state';

/** What every handler needs: the state, the signing key and the options in force. */
export interface SimContext {
  state: SimState;
  keys: SigningKeys;
  port: number;
  identityHeader: string;
  accessTokenLifetimeSeconds: number;
  allowLoopbackRedirects: boolean;
  log: (line: string) => void;
}

/** One request, with the host it was addressed to (127.0.0.1:PORT or localhost:PORT). */
export interface Exchange {
  req: IncomingMessage;
  res: ServerResponse;
  url: URL;
  /** host:port as the client addressed it. */
  host: string;
  /** https://host:port */
  base: string;
  /** The client-request-id header when given (Microsoft echoes it as the correlation id), else a new id. */
  correlationId: string;
}

/** The hosts this simulator answers to; Microsoft's issuer ignores the alias, ours follows the request. */
export function aliases(port: number): string[] {
  return [`127.0.0.1:${port}`, `localhost:${port}`];
}

export function isRegisteredRedirect(ctx: SimContext, app: SeedApp, uri: string): boolean {
  if (app.redirectUris.includes(uri)) return true;
  if (!ctx.allowLoopbackRedirects) return false;
  try {
    const u = new URL(uri);
    // Microsoft accepts loopback redirect URIs over http as well as https, on any port.
    return (
      (u.protocol === 'https:' || u.protocol === 'http:') &&
      (u.hostname === '127.0.0.1' || u.hostname === 'localhost') &&
      !u.hash
    );
  } catch {
    return false;
  }
}
