import { readFileSync } from 'node:fs';
import path from 'node:path';
import { triggers } from '../../../functions';
import { startHost, type Host, type HostJson, type LogLine } from '../../../dev/host';
import { driveSignIn, type DriveSignInOptions } from '../../../dev/m365/driver';
import { freePort } from '../../../dev/ports';
import { startLocalStack, type LocalStack, type LocalStackOptions } from '../../../dev/stack';
import { loadConfig } from '../../../shared/config';
import { createServices, type Services } from '../../../shared/services';
import { withQueuePrefix } from '../../../shared/triggers';
import { TEST_FUNCTION_KEY, TEST_MASTER_KEY } from '../../helpers/host';
import { uniquePrefix } from '../../helpers/stack';

/**
 * A private local stack (its Microsoft 365 directory and consents are this file's alone) and the
 * app in the local host over https, so the whole path is real: routes, cookies, headers, the token endpoint, the
 * simulated sign-in pages, Azurite, the vault.
 */
export interface World {
  stack: LocalStack;
  host: Host;
  /** The app's public address (https://localhost:PORT). */
  base: string;
  settings: Record<string, string>;
  /** The same services the app uses, for looking at what was stored. */
  services: Services;
  /** Every log line the host and the functions wrote. */
  logs: LogLine[];
  stop(): Promise<void>;
}

const hostJson = JSON.parse(
  readFileSync(path.resolve(__dirname, '..', '..', '..', 'host.json'), 'utf8'),
) as HostJson;

export async function startWorld(
  overrides: Record<string, string> = {},
  options: { protocol?: 'https' | 'http' } = {},
  /** More for the stack, e.g. a certificate registered on the app (`appCertificatePem`). */
  stackOptions: Pick<LocalStackOptions, 'appCertificatePem'> = {},
): Promise<World> {
  const port = await freePort();
  // Plain http is what `npm start` serves (http://localhost is a secure context to browsers).
  const protocol = options.protocol ?? 'https';
  const base = `${protocol}://localhost:${port}`;
  const stack = await startLocalStack({ ports: 'free', quiet: true, publicBaseUrl: base, ...stackOptions });
  const settings: Record<string, string> = {
    ...stack.settings,
    STORAGE_NAME_PREFIX: uniquePrefix(),
    PUBLIC_BASE_URL: base,
    ...overrides,
  };
  const logs: LogLine[] = [];
  const host = await startHost({
    triggers: withQueuePrefix(triggers, settings.STORAGE_NAME_PREFIX ?? ''),
    settings,
    port,
    hostJson,
    functionKeys: { default: TEST_FUNCTION_KEY, master: TEST_MASTER_KEY },
    storageConnectionString: settings.AzureWebJobsStorage ?? '',
    log: (line) => logs.push(line),
    timers: { enabled: false },
    ...(protocol === 'https' ? { tls: { cert: stack.certs.cert, key: stack.certs.key } } : {}),
  });
  // The host has put the settings (and so the managed identity endpoint) into process.env.
  const services = createServices(loadConfig(settings));
  return {
    stack,
    host,
    base,
    settings,
    services,
    logs,
    stop: async () => {
      await host.stop();
      await stack.stop();
    },
  };
}

export interface Page {
  status: number;
  headers: Headers;
  html: string;
}

/** A browser as far as we need one: a cookie jar and no automatic redirects. */
export class Browser {
  readonly cookies = new Map<string, string>();

  async request(url: string, init: RequestInit = {}): Promise<Page> {
    const cookie = [...this.cookies].map(([k, v]) => `${k}=${v}`).join('; ');
    const res = await fetch(url, {
      ...init,
      redirect: 'manual',
      headers: { ...(init.headers as Record<string, string>), ...(cookie ? { cookie } : {}) },
    });
    for (const line of res.headers.getSetCookie()) {
      const [pair = '', ...attrs] = line.split(';');
      const [name = '', ...value] = pair.split('=');
      const maxAge = attrs.map((a) => a.trim().toLowerCase()).find((a) => a.startsWith('max-age='));
      if (maxAge === 'max-age=0') this.cookies.delete(name.trim());
      else this.cookies.set(name.trim(), value.join('='));
    }
    return { status: res.status, headers: res.headers, html: await res.text() };
  }

  get(url: string): Promise<Page> {
    return this.request(url);
  }

  post(url: string): Promise<Page> {
    return this.request(url, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
    });
  }
}

export async function api<T = Record<string, unknown>>(
  world: World,
  method: string,
  path: string,
  body?: unknown,
): Promise<{ status: number; body: T }> {
  const res = await fetch(`${world.host.url}${path}`, {
    method,
    headers: { 'x-functions-key': TEST_FUNCTION_KEY, 'content-type': 'application/json' },
    ...(body === undefined ? {} : { body: JSON.stringify(body) }),
  });
  return { status: res.status, body: (await res.json()) as T };
}

let counter = 0;

/** A customer and its invitation, through the admin API; returns the invitation link's token. */
export async function invitedCustomer(
  world: World,
  fields: { name?: string; tenantId?: string; tenantDomain?: string; adminEmail?: string } = {},
): Promise<{ id: string; token: string; invitationId: string }> {
  const id = `cust-${Date.now().toString(36)}-${++counter}`;
  const created = await api(world, 'POST', '/api/customers', {
    id,
    name: fields.name ?? `Customer ${counter}`,
    adminEmail: fields.adminEmail ?? 'admin@customer.example',
    ...(fields.tenantId ? { tenantId: fields.tenantId } : {}),
    ...(fields.tenantDomain ? { tenantDomain: fields.tenantDomain } : {}),
  });
  if (created.status !== 201) throw new Error(`customer not created: ${JSON.stringify(created.body)}`);
  const sent = await api<{ url: string; id: string }>(world, 'POST', `/api/customers/${id}/invitations`);
  if (sent.status !== 201) throw new Error(`invitation not sent: ${JSON.stringify(sent.body)}`);
  const token = new URL(sent.body.url).pathname.split('/').pop() ?? '';
  return { id, token, invitationId: sent.body.id };
}

export interface Walk {
  start: Page;
  /** Our redirect URI with code and state (or error) as Microsoft sent the browser back. */
  callbackUrl: string;
  result: Page;
}

/** Invitation page → Start → the simulated Microsoft pages → back to our callback. */
export async function signIn(
  world: World,
  browser: Browser,
  token: string,
  options: DriveSignInOptions,
): Promise<Walk> {
  const invitation = await browser.get(`${world.base}/authenticate/${token}`);
  if (invitation.status !== 200) throw new Error(`invitation page answered ${invitation.status}`);
  const start = await browser.post(`${world.base}/authenticate/${token}/start`);
  const location = start.headers.get('location');
  if (start.status !== 303 || !location) throw new Error(`start answered ${start.status}`);
  const walk = await driveSignIn(location, options);
  if (!walk.location) throw new Error(`the sign-in stopped at ${walk.stoppedAt} (${walk.pages.join(' → ')})`);
  return { start, callbackUrl: walk.location, result: await browser.get(walk.location) };
}
