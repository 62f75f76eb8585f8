import { describe, expect, it } from 'vitest';
import { PayloadTooLargeError, ValidationError } from '../../../../shared/errors';
import { parseJsonBytes } from '../../../../shared/http/requests';
import { canonicalJson } from '../../../../shared/orders/canonical-json';

describe('the body reader', () => {
  const parse = (text: string | Buffer, limits = {}) =>
    parseJsonBytes(typeof text === 'string' ? Buffer.from(text) : text, limits);

  it('reads JSON within its limits', () => {
    expect(parse('{"a":[1,{"b":"ü"}]}').json).toEqual({ a: [1, { b: 'ü' }] });
  });

  it('refuses invalid UTF-8, deep nesting, lone surrogates and bodies past the limit', () => {
    expect(() => parse(Buffer.from([0x7b, 0xff, 0x7d]))).toThrow(ValidationError);
    expect(() => parse(`${'['.repeat(10_000)}${']'.repeat(10_000)}`)).toThrow(/nested more than/);
    expect(() => parse('{"a":"\\ud800"}')).toThrow(/lone surrogate/);
    expect(() => parse('{"\\udc00":1}')).toThrow(/lone surrogate/);
    expect(() => parse('{"a":"x"}', { limitBytes: 4 })).toThrow(PayloadTooLargeError);
  });

  it('does not count brackets inside strings', () => {
    expect(parse(`{"a":"${'['.repeat(1000)}\\"${'{'.repeat(1000)}"}`).json).toBeDefined();
  });
});

describe('canonical JSON of a deep value', () => {
  it('does not recurse: 100,000 levels render without a stack overflow', () => {
    let deep: unknown = 1;
    for (let i = 0; i < 100_000; i++) deep = i % 2 ? [deep] : { k: deep };
    const text = canonicalJson(deep);
    expect(text.length).toBeGreaterThan(100_000);
    expect(text.startsWith('[{"k":[{"k":')).toBe(true);
  });
});
