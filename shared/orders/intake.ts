import { ConflictError, PayloadTooLargeError } from '../errors';
import type { AuditLog } from '../storage/audit';
import type { QueueSender } from '../storage/queue-sender';
import { addSeconds } from '../clock';
import { type Log } from '../log';
import { contentHash } from './canonical-json';
import { parseJsonBytes } from '../http/requests';
import { customerIdOf, parseEvent, type ParsedEvent } from './envelope';
import { SignatureError, WebhookNotConfiguredError } from './errors';
import { errorText } from '../log';
import { applyOrderEvent } from './queues';
import type { OrderEvent } from './model';
import { bodyChunks, partitionOf, type OrderRepositories } from './repositories';
import { SIGNATURE_HEADER, verifySignature } from './signature';
import type { WebhookSecrets } from './webhook-secrets';

/**
 * The webhook's front door. In this order: the signature (nothing is read or stored for an
 * unsigned request), the JSON and its fields, then the event is stored — before anything else
 * happens — and only then queued. The stored row is the promise made by the 202: if queueing fails,
 * the sweep queues it later. A copy of a stored event gets the first answer again and changes nothing.
 */
export const MAX_BODY_BYTES = 256 * 1024;
/** A stored event not yet queued is picked up by the sweep after this long. */
export const RECEIVED_GRACE_SECONDS = 60;
/** A queued event not yet picked up is queued again after this long (a lost or poisoned message). */
export const QUEUED_GRACE_SECONDS = 600;
/** After a failed check, Key Vault is read again (a rotation just happened) at most this often. */
const SECRET_REFRESH_SECONDS = 10;

export interface IntakeAnswer {
  status: number;
  body: unknown;
  headers: Record<string, string>;
}

export interface OrderIntake {
  receive(request: { signature: string | null; body: Buffer }, log: Log): Promise<IntakeAnswer>;
}

export const eventPath = (id: string) => `/api/orders/events/${encodeURIComponent(id)}`;

/** The answer every copy of an event gets: derived from the stored row only, so it never varies. */
export function answerFor(event: OrderEvent, replayed: boolean): IntakeAnswer {
  const links = { self: eventPath(event.id) };
  const headers: Record<string, string> = { location: links.self };
  if (replayed) headers['idempotent-replayed'] = 'true';
  if (event.answerStatus === 202) {
    return {
      status: 202,
      headers,
      body: { id: event.id, type: event.type, status: 'accepted', receivedAt: event.receivedAt, links },
    };
  }
  const problem = event.errors?.[0];
  return {
    status: event.answerStatus,
    headers,
    body: {
      error: {
        code: problem?.code ?? 'unknown_type',
        message: problem?.message ?? `Event type '${event.type}' is not supported.`,
        id: event.id,
        type: event.type,
        links,
      },
    },
  };
}

/** The shared body reader's rules (strict UTF-8, depth, well-formed strings) apply to events too. */
function decodeJson(body: Buffer): { text: string; json: unknown } {
  return parseJsonBytes(body, { limitBytes: MAX_BODY_BYTES });
}

function unsupportedMessage(parsed: Extract<ParsedEvent, { kind: 'unsupported' }>): string {
  return parsed.reason === 'unknown_type'
    ? `Event type '${parsed.envelope.type}' is not supported. The event is stored and can be retried once it is.`
    : `Spec version '${parsed.envelope.specVersion ?? ''}' is not supported. The event is stored and can be retried once it is.`;
}

export function createOrderIntake(deps: {
  repos: OrderRepositories;
  queues: QueueSender;
  secrets: WebhookSecrets;
  audit: AuditLog;
  toleranceSeconds: number;
  now: () => Date;
}): OrderIntake {
  const { events } = deps.repos;

  const authenticate = async (signature: string | null, body: Buffer, log: Log) => {
    const check = (secrets: string[]) =>
      verifySignature(signature, body, secrets, {
        nowSeconds: Math.floor(deps.now().getTime() / 1000),
        toleranceSeconds: deps.toleranceSeconds,
      });
    let secrets = await deps.secrets.current();
    if (secrets.length === 0) secrets = (await deps.secrets.refresh(SECRET_REFRESH_SECONDS)) ?? [];
    if (secrets.length === 0) {
      log.error('orders_webhook_not_configured', { header: SIGNATURE_HEADER });
      throw new WebhookNotConfiguredError();
    }
    let result = check(secrets);
    if (!result.ok && result.problem === 'signature_mismatch') {
      // Perhaps the secret was rotated since we cached it.
      const fresh = await deps.secrets.refresh(SECRET_REFRESH_SECONDS);
      if (fresh && fresh.length > 0) result = check(fresh);
    }
    if (!result.ok) {
      log.warn('order_signature_rejected', { reason: result.problem });
      throw new SignatureError(result.problem);
    }
  };

  const replay = async (row: OrderEvent, log: Log): Promise<IntakeAnswer> => {
    const existing = await events.get(partitionOf(row.id), row.id);
    if (!existing) throw new ConflictError(`Event '${row.id}' is being stored by another request; retry.`);
    if (existing.value.bodyHash !== row.bodyHash) {
      log.warn('order_event_conflict', { eventId: row.id });
      throw new ConflictError(`Event '${row.id}' was already received with different content.`, {
        id: row.id,
        links: { self: eventPath(row.id) },
      });
    }
    log.info('order_event_replayed', { eventId: row.id, status: existing.value.status });
    return answerFor(existing.value, true);
  };

  return {
    async receive({ signature, body }, log) {
      if (body.length > MAX_BODY_BYTES) throw new PayloadTooLargeError(MAX_BODY_BYTES);
      await authenticate(signature, body, log);
      const { text, json } = decodeJson(body);
      const parsed = parseEvent(json);
      const { envelope } = parsed;
      const now = deps.now();
      const at = now.toISOString();
      const customerId =
        parsed.kind === 'known'
          ? parsed.data.customerId
          : customerIdOf(envelope.data as Record<string, unknown>);
      const row: OrderEvent = {
        id: envelope.id,
        type: envelope.type,
        occurredAt: envelope.occurredAt,
        ...(customerId ? { customerId: customerId.toLowerCase() } : {}),
        bodyHash: contentHash(json),
        bodyBytes: body.length,
        answerStatus: parsed.kind === 'known' ? 202 : 422,
        status: parsed.kind === 'known' ? 'received' : 'rejected',
        receivedAt: at,
        updatedAt: at,
        attempts: 0,
        steps: {},
        ...(parsed.kind === 'known'
          ? { dueAt: addSeconds(now, RECEIVED_GRACE_SECONDS) }
          : { completedAt: at, errors: [{ code: parsed.reason, message: unsupportedMessage(parsed) }] }),
        ...bodyChunks(text),
      };
      try {
        await events.create(row);
      } catch (e) {
        if (e instanceof ConflictError) return replay(row, log);
        throw e;
      }
      log.info('order_event_received', { eventId: row.id, type: row.type, status: row.status });
      if (row.status === 'rejected') {
        await deps.audit
          .record({
            actor: `orders:${row.id}`,
            action: 'order.rejected',
            ...(customerId ? { customerId } : {}),
            target: row.id,
            details: { type: row.type, reason: row.errors?.[0]?.code },
          })
          .catch((e: unknown) => log.warn('order_audit_failed', { eventId: row.id, error: errorText(e) }));
        return answerFor(row, false);
      }
      try {
        await applyOrderEvent.send(deps.queues, { eventId: row.id });
        await events.mutate(partitionOf(row.id), row.id, (r) =>
          r.status === 'received'
            ? {
                ...r,
                status: 'queued',
                dueAt: addSeconds(deps.now(), QUEUED_GRACE_SECONDS),
                updatedAt: r.updatedAt,
              }
            : undefined,
        );
      } catch (e) {
        // Stored is enough: the sweep queues events left in "received".
        log.warn('order_enqueue_deferred', { eventId: row.id, error: errorText(e) });
      }
      return answerFor(row, false);
    },
  };
}
