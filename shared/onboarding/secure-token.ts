import { createHash, randomBytes } from 'node:crypto';

/**
 * Secrets that travel in links (invitations, login states): 256 random bits, base64url, stored only
 * as a SHA-256 hash so a copy of the tables cannot be replayed.
 */
export const TOKEN_PATTERN = /^[A-Za-z0-9_-]{43}$/;

export function newToken(): string {
  return randomBytes(32).toString('base64url');
}

export function hashToken(token: string): string {
  return createHash('sha256').update(token, 'utf8').digest('hex');
}

/** A short random public identifier (96 bits) for rows whose key is a hash. */
export function newPublicId(prefix: string): string {
  return `${prefix}_${randomBytes(12).toString('base64url')}`;
}
