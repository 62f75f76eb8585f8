import { createHmac } from 'node:crypto';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  computeSignature,
  parseSignatureHeader,
  signatureHeader,
  verifySignature,
} from '../../../../shared/orders/signature';

const secret = 'whsec-current-0123456789abcdef';
const previous = 'whsec-previous-fedcba9876543210';
const now = 1_760_000_000;
const opts = { nowSeconds: now, toleranceSeconds: 300 };
const body = Buffer.from('{"id":"evt-1","type":"customer.created"}');

describe('order webhook signature', () => {
  it('is HMAC-SHA256 over "<t>.<raw body>", hex, as the docs say', () => {
    const expected = createHmac('sha256', secret).update(`${now}.${body.toString()}`).digest('hex');
    expect(computeSignature(secret, now, body).toString('hex')).toBe(expected);
    expect(signatureHeader([secret], body, now)).toBe(`t=${now},v1=${expected}`);
  });

  it('accepts a signature made with either of two secrets (rotation)', () => {
    for (const signer of [secret, previous]) {
      const header = signatureHeader([signer], body, now);
      expect(verifySignature(header, body, [secret, previous], opts)).toEqual({ ok: true, timestamp: now });
    }
    // A sender signing with both during its own switch-over is accepted too.
    expect(verifySignature(signatureHeader(['other', secret], body, now), body, [secret], opts).ok).toBe(
      true,
    );
  });

  it('refuses a secret that is no longer configured', () => {
    const header = signatureHeader([previous], body, now);
    expect(verifySignature(header, body, [secret], opts)).toEqual({
      ok: false,
      problem: 'signature_mismatch',
    });
  });

  it('allows five minutes either way and no more', () => {
    for (const t of [now - 300, now + 300]) {
      expect(verifySignature(signatureHeader([secret], body, t), body, [secret], opts).ok).toBe(true);
    }
    for (const t of [now - 301, now + 301, 0]) {
      expect(verifySignature(signatureHeader([secret], body, t), body, [secret], opts)).toEqual({
        ok: false,
        problem: 'timestamp_out_of_tolerance',
      });
    }
  });

  it('refuses an altered body, a missing header and malformed ones', () => {
    const header = signatureHeader([secret], body, now);
    const altered = Buffer.from(body.toString().replace('evt-1', 'evt-2'));
    expect(verifySignature(header, altered, [secret], opts)).toEqual({
      ok: false,
      problem: 'signature_mismatch',
    });
    // The timestamp is signed too: moving it breaks the signature.
    expect(verifySignature(header.replace(`t=${now}`, `t=${now + 1}`), body, [secret], opts).ok).toBe(false);
    for (const missing of [null, undefined, '', '   ']) {
      expect(verifySignature(missing, body, [secret], opts)).toEqual({
        ok: false,
        problem: 'missing_signature',
      });
    }
    for (const bad of [
      'v1=abc',
      `t=${now}`,
      `t=${now},v1=xyz`,
      `t=abc,v1=${'0'.repeat(64)}`,
      `t=${now},t=${now},v1=${'0'.repeat(64)}`,
      `sha256=${'0'.repeat(64)}`,
      `t=${now},v1=${'0'.repeat(63)}`,
      `t=${now},${Array.from({ length: 9 }, () => `v1=${'0'.repeat(64)}`).join(',')}`,
      `t=${now},v1=${'0'.repeat(64)},${'x'.repeat(3000)}`,
    ]) {
      expect(verifySignature(bad, body, [secret], opts)).toEqual({
        ok: false,
        problem: 'malformed_signature',
      });
    }
  });

  it('ignores schemes it does not know and spaces around parts', () => {
    const sig = computeSignature(secret, now, body).toString('hex');
    expect(parseSignatureHeader(` t=${now} , v0=${'a'.repeat(10)}, v1=${sig.toUpperCase()}`)).toEqual({
      timestamp: now,
      signatures: [Buffer.from(sig, 'hex')],
    });
  });

  it('round-trips any body, and any change to it is caught (property)', () => {
    fc.assert(
      fc.property(
        fc.uint8Array({ maxLength: 2048 }),
        fc.nat({ max: 2047 }),
        fc.integer({ min: 1, max: 255 }),
        (bytes, at, flip) => {
          const raw = Buffer.from(bytes);
          const header = signatureHeader([secret], raw, now);
          expect(verifySignature(header, raw, [previous, secret], opts).ok).toBe(true);
          if (raw.length === 0) return;
          const changed = Buffer.from(raw);
          const i = at % raw.length;
          changed[i] = (changed[i]! ^ flip) & 0xff;
          expect(verifySignature(header, changed, [previous, secret], opts).ok).toBe(false);
        },
      ),
      { numRuns: 500 },
    );
  });

  it('never throws on any header text (property)', () => {
    fc.assert(
      fc.property(fc.string({ maxLength: 300 }), (header) => {
        const r = verifySignature(header, body, [secret], opts);
        expect(typeof r.ok).toBe('boolean');
      }),
      { numRuns: 2000 },
    );
  });
});
