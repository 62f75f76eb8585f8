import { createCipheriv, createDecipheriv, hkdfSync, randomBytes } from 'node:crypto';

/**
 * Encrypts a login's secrets (the PKCE verifier and the invitation link it came from) under a key
 * derived from the state value itself. The table keeps only the state's hash, so a copy of the
 * table reveals neither; whoever comes back from Microsoft with the state can open them.
 */
const INFO = Buffer.from('switchboard login-state v1');

function keyFor(state: string, salt: string): Buffer {
  return Buffer.from(hkdfSync('sha256', Buffer.from(state, 'utf8'), Buffer.from(salt, 'utf8'), INFO, 32));
}

/** `salt` binds the box to its row (the state hash), so boxes cannot be swapped between rows. */
export function seal(state: string, salt: string, plaintext: string): string {
  const iv = randomBytes(12);
  const cipher = createCipheriv('aes-256-gcm', keyFor(state, salt), iv);
  cipher.setAAD(Buffer.from(salt, 'utf8'));
  const body = Buffer.concat([cipher.update(plaintext, 'utf8'), cipher.final()]);
  return Buffer.concat([iv, cipher.getAuthTag(), body]).toString('base64url');
}

/** The plaintext, or undefined when the box was not made with this state and salt. */
export function unseal(state: string, salt: string, box: string): string | undefined {
  try {
    const raw = Buffer.from(box, 'base64url');
    if (raw.length < 29) return undefined;
    const decipher = createDecipheriv('aes-256-gcm', keyFor(state, salt), raw.subarray(0, 12));
    decipher.setAAD(Buffer.from(salt, 'utf8'));
    decipher.setAuthTag(raw.subarray(12, 28));
    return Buffer.concat([decipher.update(raw.subarray(28)), decipher.final()]).toString('utf8');
  } catch {
    return undefined;
  }
}
