import { createHash, randomBytes } from 'node:crypto';

/**
 * PKCE (RFC 7636) with S256: a 256-bit verifier kept server-side, and its SHA-256 as the challenge
 * that travels in the authorize URL. A stolen code is useless without the verifier.
 */
export function newCodeVerifier(): string {
  return randomBytes(32).toString('base64url');
}

export function codeChallengeOf(verifier: string): string {
  return createHash('sha256').update(verifier, 'ascii').digest('base64url');
}
