import type { TokenHealthView } from './views';

/**
 * What a verification's result asks of the rest of the app, decided without side effects. Every
 * action carries the key that makes it happen once however many runs decide it again: the consent
 * that lapsed (its `consentedAt`), the week of reminders, the streak of failures, the expiry date.
 */
export type Escalation =
  | { kind: 'consent_lapsed'; key: string; reason: string }
  | { kind: 'reinvite'; key: string; round: number }
  | { kind: 'access_lost'; key: string; reason: string }
  | { kind: 'failing'; key: string; failures: number }
  | { kind: 'expiring'; key: string; expiresIfUnusedBy: string };

/** A re-consent invitation is sent again (a new link, the old one revoked) this often while consent is missing. */
export const REMINDER_INTERVAL_DAYS = 7;
const DAY_MS = 86_400_000;

export function escalations(input: {
  customer: {
    id: string;
    status: string;
    consentedAt?: string | undefined;
    consentLapsedAt?: string | undefined;
  };
  health: TokenHealthView;
  now: Date;
  alertAfterFailures: number;
  escalateAfterDays: number;
}): Escalation[] {
  const { customer, health, now } = input;
  const consent = `${customer.id.toLowerCase()}:${customer.consentedAt ?? 'never'}`;
  const out: Escalation[] = [];
  switch (health.status) {
    case 'needs_consent': {
      out.push({
        kind: 'consent_lapsed',
        key: `${consent}:consent_needed`,
        reason: health.reason ?? 'needs_consent',
      });
      // Reminders only while the customer is served at all: a suspended customer is not chased.
      if (customer.status === 'active') {
        const since = Date.parse(customer.consentLapsedAt ?? now.toISOString());
        const round = Math.max(0, Math.floor((now.getTime() - since) / (REMINDER_INTERVAL_DAYS * DAY_MS)));
        out.push({ kind: 'reinvite', key: `${consent}:reconsent:${round}`, round });
      }
      break;
    }
    case 'gone':
      out.push({ kind: 'access_lost', key: `${consent}:access_lost`, reason: health.reason ?? 'gone' });
      break;
    case 'failing':
      if (health.consecutiveTransientFailures >= input.alertAfterFailures) {
        out.push({
          kind: 'failing',
          key: `${consent}:failing:${health.lastHealthyAt ?? 'never'}`,
          failures: health.consecutiveTransientFailures,
        });
      }
      break;
    default:
      break;
  }
  // A token that has not been redeemed for a long time dies at 90 days; say so before it does.
  const lastUse = health.lastRedeemedAt ? Date.parse(health.lastRedeemedAt) : undefined;
  if (
    health.status !== 'healthy' &&
    health.expiresIfUnusedBy &&
    lastUse !== undefined &&
    now.getTime() - lastUse >= input.escalateAfterDays * DAY_MS
  ) {
    out.push({
      kind: 'expiring',
      key: `${consent}:expiring:${health.expiresIfUnusedBy}`,
      expiresIfUnusedBy: health.expiresIfUnusedBy,
    });
  }
  return out;
}
