import { timingSafeEqual } from 'node:crypto';
import { z } from 'zod';
import { ConflictError } from '../errors';
import { hashToken, newToken, TOKEN_PATTERN } from '../onboarding/secure-token';
import type { StorageClients } from '../storage/clients';
import type { DueIndex } from '../jobs/due';
import { TableRepository } from '../storage/table-repository';
import { codeChallengeOf, newCodeVerifier } from './pkce';
import { seal, unseal } from './seal';

/**
 * One-time login states: one row per "Start authentication", keyed by the hash of the random
 * `state` sent to Microsoft, valid ten minutes, deleted (with its ETag) the moment the callback
 * presents it, before the code is redeemed. The row holds the nonce, the hash of a browser key
 * (a cookie, so a callback completed in another browser is refused), and the PKCE verifier and
 * invitation link sealed under the state.
 */
export const LOGIN_STATE_TTL_MS = 10 * 60 * 1000;
const PARTITION = 'login';

const loginStateSchema = z.object({
  stateHash: z.string(),
  customerId: z.string(),
  nonce: z.string(),
  browserHash: z.string(),
  sealed: z.string(),
  createdAt: z.string(),
  expiresAt: z.string(),
});
type LoginStateRow = z.infer<typeof loginStateSchema>;

const sealedSchema = z.object({ codeVerifier: z.string(), invitationToken: z.string() });

export interface StartedLogin {
  state: string;
  nonce: string;
  codeChallenge: string;
  /** Goes to the browser as a cookie; only its hash is stored. */
  browserKey: string;
  expiresAt: Date;
}

export interface Login {
  customerId: string;
  invitationToken: string;
  codeVerifier: string;
  nonce: string;
}

export type ConsumedLogin =
  /** Never issued, or already used: nothing to go back to. */
  | { status: 'unknown' }
  | { status: 'expired'; login: Login }
  | { status: 'other_browser'; login: Login }
  | { status: 'valid'; login: Login };

export interface LoginStateStore {
  create(input: { customerId: string; invitationToken: string }): Promise<StartedLogin>;
  /** Deletes the state (so a second use finds nothing) and says what it was. */
  consume(state: string, browserKey: string | undefined): Promise<ConsumedLogin>;
}

/** Abandoned sign-ins are deleted by the sweep this long after they expire. */
const PURGE_AFTER_EXPIRY_MS = 3_600_000;
const PURGE_KIND = 'identity.login:purge';

export function createLoginStateStore(
  storage: StorageClients,
  due: DueIndex,
  now: () => Date = () => new Date(),
): LoginStateStore {
  const repo = new TableRepository<LoginStateRow>(storage.table('loginstates'), {
    entityName: 'login state',
    schema: loginStateSchema,
    keys: (r) => ({ partitionKey: PARTITION, rowKey: r.stateHash }),
  });
  // Retention: each state's deletion is on the due index from the moment it is made.
  due.on(PURGE_KIND, async ({ partitionKey, rowKey }) => {
    const row = await repo.get(partitionKey, rowKey);
    if (row && Date.parse(row.value.expiresAt) <= now().getTime())
      await repo.delete(partitionKey, rowKey, row.etag).catch(() => false);
    return 'done';
  });

  return {
    async create({ customerId, invitationToken }) {
      const state = newToken();
      const nonce = newToken();
      const browserKey = newToken();
      const codeVerifier = newCodeVerifier();
      const stateHash = hashToken(state);
      const createdAt = now();
      const expiresAt = new Date(createdAt.getTime() + LOGIN_STATE_TTL_MS);
      await due.mark(
        PURGE_KIND,
        { partitionKey: PARTITION, rowKey: stateHash },
        new Date(expiresAt.getTime() + PURGE_AFTER_EXPIRY_MS).toISOString(),
      );
      await repo.create({
        stateHash,
        customerId,
        nonce,
        browserHash: hashToken(browserKey),
        sealed: seal(state, stateHash, JSON.stringify({ codeVerifier, invitationToken })),
        createdAt: createdAt.toISOString(),
        expiresAt: expiresAt.toISOString(),
      });
      return { state, nonce, codeChallenge: codeChallengeOf(codeVerifier), browserKey, expiresAt };
    },

    async consume(state, browserKey) {
      if (!TOKEN_PATTERN.test(state)) return { status: 'unknown' };
      const stateHash = hashToken(state);
      const row = await repo.get(PARTITION, stateHash);
      if (!row) return { status: 'unknown' };
      try {
        // Whoever deletes the row owns the login; a concurrent second callback gets 'unknown'.
        if (!(await repo.delete(PARTITION, stateHash, row.etag))) return { status: 'unknown' };
      } catch (e) {
        if (e instanceof ConflictError) return { status: 'unknown' };
        throw e;
      }
      const opened = unseal(state, stateHash, row.value.sealed);
      const secrets = opened === undefined ? undefined : sealedSchema.safeParse(JSON.parse(opened));
      if (!secrets?.success) return { status: 'unknown' };
      const login: Login = {
        customerId: row.value.customerId,
        nonce: row.value.nonce,
        ...secrets.data,
      };
      if (Date.parse(row.value.expiresAt) <= now().getTime()) return { status: 'expired', login };
      if (!browserKey || !sameHash(hashToken(browserKey), row.value.browserHash)) {
        return { status: 'other_browser', login };
      }
      return { status: 'valid', login };
    },
  };
}

function sameHash(a: string, b: string): boolean {
  const x = Buffer.from(a, 'hex');
  const y = Buffer.from(b, 'hex');
  return x.length === y.length && x.length > 0 && timingSafeEqual(x, y);
}
