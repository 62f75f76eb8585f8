import { describe, expect, it } from 'vitest';
import {
  backoffSeconds,
  bucketsBetween,
  dueBucket,
  mayTakeLease,
  tableKey,
} from '../../../../shared/jobs/rules';

describe('back-off', () => {
  it('doubles from the base, with jitter, up to the cap', () => {
    const mid = () => 0.5;
    expect([1, 2, 3, 4].map((n) => backoffSeconds(n, 10, { random: mid }))).toEqual([10, 20, 40, 80]);
    expect(backoffSeconds(40, 10, { random: mid })).toBe(3600);
    expect(backoffSeconds(1, 10, { random: () => 0 })).toBe(8);
    expect(backoffSeconds(1, 10, { random: () => 0.9999 })).toBe(12);
    expect(backoffSeconds(1, 1, { random: () => 0 })).toBe(1);
  });
});

describe('leases', () => {
  const now = new Date('2026-11-30T10:00:00Z');
  it('is free when nobody holds it, when it expired, or when the same owner (a redelivered message) asks', () => {
    expect(mayTakeLease(undefined, 'msg:a', now)).toBe(true);
    expect(mayTakeLease({ owner: 'msg:b', until: '2026-11-30T09:59:59Z' }, 'msg:a', now)).toBe(true);
    expect(mayTakeLease({ owner: 'msg:a', until: '2026-11-30T10:05:00Z' }, 'msg:a', now)).toBe(true);
  });
  it('is refused while another owner holds it', () => {
    expect(mayTakeLease({ owner: 'msg:b', until: '2026-11-30T10:00:01Z' }, 'msg:a', now)).toBe(false);
  });
});

describe('due buckets', () => {
  it('partitions by the hour, and walks the hours between two buckets across a day boundary', () => {
    expect(dueBucket('2026-11-30T10:59:59.999Z')).toBe('2026-11-30T10');
    expect(bucketsBetween('2026-11-30T22', '2026-12-01T01')).toEqual([
      '2026-11-30T22',
      '2026-11-30T23',
      '2026-12-01T00',
      '2026-12-01T01',
    ]);
    expect(bucketsBetween('2026-12-01T01', '2026-11-30T22')).toEqual([]);
    expect(bucketsBetween('2026-11-01T00', '2026-12-01T00', 3)).toHaveLength(3);
  });
  it('escapes the characters Table Storage refuses in keys', () => {
    expect(tableKey('a/b\\c#d?e')).not.toMatch(/[/\\#?]/);
  });
});
