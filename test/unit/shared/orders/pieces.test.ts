import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { canonicalJson, contentHash } from '../../../../shared/orders/canonical-json';
import { isSuperseded } from '../../../../shared/orders/watermarks';
import { BODY_CHUNK_CHARS, type OrderEvent } from '../../../../shared/orders/model';
import { bodyChunks, bodyOf } from '../../../../shared/orders/repositories';

describe('canonical JSON', () => {
  it('does not depend on key order or spacing', () => {
    const a = JSON.parse('{"b":1,"a":{"y":[1,2],"x":null}}');
    const b = JSON.parse('{ "a": { "x": null, "y": [1, 2] }, "b": 1 }');
    expect(canonicalJson(a)).toBe('{"a":{"x":null,"y":[1,2]},"b":1}');
    expect(contentHash(a)).toBe(contentHash(b));
    expect(contentHash({ a: 1 })).not.toBe(contentHash({ a: 2 }));
  });

  it('round-trips: parsing it gives the same value (property)', () => {
    fc.assert(
      fc.property(fc.jsonValue(), (v) => {
        const normal = JSON.parse(JSON.stringify(v)) as unknown;
        expect(JSON.parse(canonicalJson(normal))).toEqual(normal);
      }),
    );
  });
});

describe('ordering watermark', () => {
  const state = { customerKey: 'c', statusAt: '2026-01-01T10:00:00Z', statusEventId: 'e2', updatedAt: '' };
  it('skips an older event of the group, not a newer one, an equal one or the same event', () => {
    expect(isSuperseded(state, { group: 'status', at: '2026-01-01T09:59:59Z', eventId: 'e1' })).toBe(true);
    expect(isSuperseded(state, { group: 'status', at: '2026-01-01T10:00:01Z', eventId: 'e3' })).toBe(false);
    expect(isSuperseded(state, { group: 'status', at: '2026-01-01T10:00:00Z', eventId: 'e3' })).toBe(false);
    expect(isSuperseded(state, { group: 'status', at: '2026-01-01T09:00:00Z', eventId: 'e2' })).toBe(false);
    expect(isSuperseded(state, { group: 'details', at: '2026-01-01T09:00:00Z', eventId: 'e1' })).toBe(false);
    // Offsets are compared as instants.
    expect(isSuperseded(state, { group: 'status', at: '2026-01-01T11:30:00+02:00', eventId: 'e1' })).toBe(
      true,
    );
  });
});

describe('stored body chunks', () => {
  const join = (s: string) => bodyOf(bodyChunks(s) as unknown as OrderEvent);
  it('keeps a 256 KB body whole, never splitting a surrogate pair (property)', () => {
    const big = '😀'.repeat(BODY_CHUNK_CHARS) + 'x'.repeat(BODY_CHUNK_CHARS * 3);
    expect(join(big)).toBe(big);
    const chunks = Object.values(bodyChunks(big));
    for (const c of chunks) {
      expect(c.length).toBeLessThanOrEqual(BODY_CHUNK_CHARS);
      expect(c.isWellFormed()).toBe(true);
    }
    expect(join('a'.repeat(256 * 1024))).toHaveLength(256 * 1024);
    fc.assert(
      fc.property(fc.string({ unit: 'grapheme', maxLength: 500 }), (s) => {
        expect(join(s)).toBe(s);
      }),
    );
  });
});
