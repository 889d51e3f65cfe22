import { describe, expect, it } from 'vitest';
import { canonicalJson, CanonicalJsonError } from '../../../main/updates/canonical-json';

describe('canonicalJson', () => {
  it('sorts keys at every depth and writes no whitespace', () => {
    expect(canonicalJson({ b: 1, a: { d: [3, { z: true, y: null }], c: 'x' } })).toBe('{"a":{"c":"x","d":[3,{"y":null,"z":true}]},"b":1}');
  });

  it('the same value in any key order gives the same bytes', () => {
    const a = JSON.parse('{"version":2,"expires":"2027-01-01T00:00:00Z","keys":{"k2":1,"k1":2}}') as unknown;
    const b = JSON.parse('{"keys":{"k1":2,"k2":1},"expires":"2027-01-01T00:00:00Z","version":2}') as unknown;
    expect(canonicalJson(a)).toBe(canonicalJson(b));
  });

  it('escapes strings as JSON does and keeps non-ASCII text as is', () => {
    expect(canonicalJson({ s: 'a"b\\c\n声' })).toBe('{"s":"a\\"b\\\\c\\n声"}');
  });

  it('sorts keys by UTF-16 code unit (uppercase before lowercase, as JS sorts)', () => {
    expect(canonicalJson({ b: 1, B: 2, a: 3 })).toBe('{"B":2,"a":3,"b":1}');
  });

  it('writes fractions as JSON.stringify does (the rollout fraction)', () => {
    expect(canonicalJson({ rollout: 0.25, size: 157286400 })).toBe('{"rollout":0.25,"size":157286400}');
  });

  it.each([
    ['undefined', { a: undefined }],
    ['NaN', { a: Number.NaN }],
    ['Infinity', [Infinity]],
    ['-0', { a: -0 }],
    ['a function', { a: () => 1 }],
    ['a class instance', { a: new Date(0) }],
    ['a lone surrogate', { a: '\uD800' }],
    ['a lone surrogate in a key', { '\uDC00': 1 }],
    ['a bigint', { a: 1n }],
  ])('refuses %s (no canonical form) rather than changing it', (_, value) => {
    expect(() => canonicalJson(value)).toThrow(CanonicalJsonError);
  });
});
