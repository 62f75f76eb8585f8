import { z } from 'zod';
import { ValidationError, type FieldProblem } from '../errors';
import { eventTypes, isKnownEventType, type OrderEventType } from './event-types';

/**
 * The envelope every order event comes in: `{ id, type, occurredAt, specVersion?, data }`. The id is
 * the ordering system's, unique per event and reused on every retry of it; it makes delivery
 * idempotent.
 */
export const SPEC_VERSION = '1';

export const eventIdSchema = z
  .string()
  .regex(
    /^[A-Za-z0-9][A-Za-z0-9_.:-]{0,127}$/,
    '1-128 letters, digits, "_", ".", ":" or "-", starting with a letter or digit',
  );

export const envelopeSchema = z.object({
  id: eventIdSchema,
  type: z
    .string()
    .min(1, 'is required')
    .max(100, 'at most 100 characters')
    .regex(/^[A-Za-z0-9][A-Za-z0-9_.:-]*$/, 'letters, digits, "_", ".", ":" or "-"'),
  occurredAt: z.iso.datetime({ offset: true, error: 'must be an ISO 8601 date-time with a time zone' }),
  specVersion: z.string().max(20).nullish(),
  data: z.record(z.string(), z.unknown(), 'must be an object'),
});
export type Envelope = z.output<typeof envelopeSchema>;

export type ParsedEvent =
  | { kind: 'known'; envelope: Envelope; type: OrderEventType; data: { customerId: string } }
  | { kind: 'unsupported'; envelope: Envelope; reason: 'unknown_type' | 'unsupported_spec_version' };

function problems(error: z.ZodError, prefix: string[] = []): FieldProblem[] {
  return error.issues.map((i) => ({
    field: [...prefix, ...i.path.map(String)].join('.') || '(body)',
    message: i.message,
  }));
}

/**
 * Validates a parsed JSON body: a bad envelope or bad data of a known type is a ValidationError with
 * every problem by field; an unknown type (or spec version) is returned as unsupported, so the
 * caller can store it and answer 422 rather than drop it.
 */
export function parseEvent(body: unknown): ParsedEvent {
  const env = envelopeSchema.safeParse(body);
  if (!env.success) throw new ValidationError('The event is not valid.', problems(env.error));
  const envelope = env.data;
  if (envelope.specVersion != null && envelope.specVersion !== SPEC_VERSION) {
    return { kind: 'unsupported', envelope, reason: 'unsupported_spec_version' };
  }
  if (!isKnownEventType(envelope.type)) return { kind: 'unsupported', envelope, reason: 'unknown_type' };
  const data = eventTypes[envelope.type].data.safeParse(envelope.data);
  if (!data.success) {
    throw new ValidationError(`The ${envelope.type} event is not valid.`, problems(data.error, ['data']));
  }
  return { kind: 'known', envelope, type: envelope.type, data: data.data };
}

/** The customer an event is about, read leniently (also for unsupported types, to help operators). */
export function customerIdOf(data: Record<string, unknown>): string | undefined {
  const id = data.customerId;
  return typeof id === 'string' && /^[A-Za-z0-9][A-Za-z0-9_-]{1,39}$/.test(id.trim()) ? id.trim() : undefined;
}
