import { describe, expect, it } from 'vitest';
import { parseApiKeys } from '../../api/auth.js';

describe('parseApiKeys', () => {
  it.each([
    ['system:abcdefgh', [{ role: 'system', key: 'abcdefgh' }]],
    [' ops:k1k1k1k1k1 , viewer:v:with:colons ', [{ role: 'ops', key: 'k1k1k1k1k1' }, { role: 'viewer', key: 'v:with:colons' }]],
    ['', []],
    ['admin:abcdefgh', [{ role: 'admin', key: 'abcdefgh' }]],
  ])('parses %j', (text, expected) => {
    expect(parseApiKeys(text)).toEqual(expected);
  });

  it.each([
    ['root:abcdefgh', /unknown role/],
    ['abcdefgh', /unknown role/],
    ['ops:short', /at least 8/],
  ])('refuses %j', (text, message) => {
    expect(() => parseApiKeys(text)).toThrow(message);
  });
});
