import { randomBytes } from 'node:crypto';
import { createServer, type Server } from 'node:https';
import type { AddressInfo } from 'node:net';
import { inject } from 'vitest';
import { readOutbox } from '../../../dev/email/eml';
import { ensureDevCertificates } from '../../../dev/tls/certs';
import type { Host } from '../../../dev/host';
import { loadConfig } from '../../../shared/config';
import { createServices, type Services } from '../../../shared/services';
import { signatureHeader, verifySignature } from '../../../shared/orders/signature';
import { startTestHost } from '../../helpers/host';
import { testSettings } from '../../helpers/stack';

/**
 * What the orders tests share: settings with this file's own webhook secret names (the test vault is
 * shared by every test file), signed requests as an ordering system makes them, and a small https
 * receiver standing in for the ordering system's callback endpoint.
 */
export interface OrdersTestSettings {
  settings: Record<string, string>;
  secret: string;
  previousSecret: string;
  secretNames: [string, string];
}

export function ordersSettings(overrides: Record<string, string> = {}): OrdersTestSettings {
  const tag = randomBytes(4).toString('hex');
  const secretNames: [string, string] = [`orders-secret-${tag}`, `orders-secret-${tag}-previous`];
  return {
    settings: testSettings({ ORDERS_WEBHOOK_SECRET_NAMES: secretNames.join(','), ...overrides }),
    secret: randomBytes(32).toString('hex'),
    previousSecret: randomBytes(32).toString('hex'),
    secretNames,
  };
}

export async function putSecrets(services: Services, t: OrdersTestSettings, both = true): Promise<void> {
  await services.secrets.set(t.secretNames[0], t.secret);
  if (both) await services.secrets.set(t.secretNames[1], t.previousSecret);
}

export const unique = (prefix: string) => `${prefix}-${randomBytes(5).toString('hex')}`;

export function customerCreated(customerId: string, overrides: Record<string, unknown> = {}) {
  return {
    id: unique('evt'),
    type: 'customer.created',
    occurredAt: new Date().toISOString(),
    specVersion: '1',
    data: {
      customerId,
      name: 'Contoso Pharmaceuticals GmbH',
      adminEmail: `it-admin.${customerId}@contoso-pharma.onmicrosoft.com`,
      tenantDomain: 'contoso-pharma.onmicrosoft.com',
      tenantId: null,
      subscriptions: [
        { sku: 'MCOEV', quantity: 25 },
        { sku: 'MCOPSTNC', quantity: '25' },
      ],
      orderNumber: 'SO-2026-000123',
      reseller: { id: 'R-17', name: null },
    },
    ...overrides,
  };
}

export function sign(body: string, secrets: string[], at = Math.floor(Date.now() / 1000)): string {
  return signatureHeader(secrets, body, at);
}

export async function post(
  base: string,
  body: string,
  headers: Record<string, string>,
): Promise<{ status: number; headers: Headers; body: Record<string, unknown> }> {
  const res = await fetch(`${base}/api/orders/events`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', ...headers },
    body,
  });
  const text = await res.text();
  return {
    status: res.status,
    headers: res.headers,
    body: text ? (JSON.parse(text) as Record<string, unknown>) : {},
  };
}

export function outboxFor(address: string) {
  return readOutbox(inject('stack').outboxDir).filter((m) => m.to.includes(address));
}

export interface ReceivedCallback {
  body: { id: string; type: string; occurredAt: string; data: Record<string, unknown> };
  raw: string;
  signature: string;
  attempt: string | undefined;
  verified: boolean;
}

export interface CallbackReceiver {
  url: string;
  received: ReceivedCallback[];
  /** Answers the next n requests with this status (after recording them). */
  failNext(n: number, status?: number): void;
  stop(): Promise<void>;
}

/** The ordering system's callback endpoint: records what arrives and checks its signature. */
export async function startCallbackReceiver(secrets: () => string[]): Promise<CallbackReceiver> {
  const certs = await ensureDevCertificates();
  const received: ReceivedCallback[] = [];
  let failing = 0;
  let failStatus = 503;
  const server: Server = createServer({ cert: certs.cert, key: certs.key }, (req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const raw = Buffer.concat(chunks);
      const signature = String(req.headers['x-switchboard-signature'] ?? '');
      received.push({
        body: JSON.parse(raw.toString('utf8')) as ReceivedCallback['body'],
        raw: raw.toString('utf8'),
        signature,
        attempt: req.headers['x-switchboard-delivery-attempt'] as string | undefined,
        verified: verifySignature(signature, raw, secrets(), {
          nowSeconds: Math.floor(Date.now() / 1000),
          toleranceSeconds: 300,
        }).ok,
      });
      if (failing > 0) {
        failing--;
        res.writeHead(failStatus).end();
      } else {
        res.writeHead(204).end();
      }
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  return {
    url: `https://127.0.0.1:${(server.address() as AddressInfo).port}/switchboard/callbacks`,
    received,
    failNext: (n, status = 503) => {
      failing = n;
      failStatus = status;
    },
    stop: () => new Promise((r) => server.close(() => r())),
  };
}

/** The app in the local host with this file's own webhook secrets in the vault, and the services to look at what it stored. */
export interface OrdersWorld {
  t: OrdersTestSettings;
  host: Host;
  services: Services;
  /** Present when callbacks were asked for. */
  receiver: CallbackReceiver | undefined;
  stop(): Promise<void>;
}

export async function startOrdersWorld(
  overrides: Record<string, string> = {},
  options: { callbacks?: boolean; previousSecret?: boolean } = {},
): Promise<OrdersWorld> {
  // The receiver checks signatures with the secret that is made once its address is known.
  const accepted: string[] = [];
  const receiver = options.callbacks ? await startCallbackReceiver(() => accepted) : undefined;
  const t = ordersSettings({ ...(receiver ? { ORDERS_CALLBACK_URL: receiver.url } : {}), ...overrides });
  accepted.push(t.secret);
  const host = await startTestHost(t.settings);
  const services = createServices(loadConfig(t.settings));
  await putSecrets(services, t, options.previousSecret ?? true);
  return {
    t,
    host,
    services,
    receiver,
    stop: async () => {
      await host.stop();
      await receiver?.stop();
    },
  };
}
