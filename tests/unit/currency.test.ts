import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { atBookedRatio, convertCumulative, convertMinor, isIsoCurrency, minorUnits, normalizeRate } from '../../domain/currency.js';

describe('ISO 4217 minor units', () => {
  it('follows the ISO table, not Intl', () => {
    expect(minorUnits('USD')).toBe(2);
    expect(minorUnits('JPY')).toBe(0);
    expect(minorUnits('KWD')).toBe(3);
    expect(minorUnits('IQD')).toBe(3);
    expect(minorUnits('HUF')).toBe(2);
    expect(minorUnits('CLF')).toBe(4);
  });

  it('refuses made-up codes, lower case, and codes that are not money', () => {
    for (const code of ['ABC', 'usd', 'US', 'XXX', 'XTS', 'XAU', '']) expect(isIsoCurrency(code), code).toBe(false);
  });
});

describe('rates', () => {
  it('are canonical positive decimals', () => {
    expect(normalizeRate('1.08250')).toBe('1.0825');
    expect(normalizeRate(150)).toBe('150');
    expect(normalizeRate('007.5')).toBe('7.5');
    expect(normalizeRate(0.0067)).toBe('0.0067');
    for (const bad of ['0', '0.000', '-1', '1e3', 'abc', '1.12345678901', '', '1234567890123']) expect(normalizeRate(bad), bad).toBeUndefined();
  });

  it('convert minor units between currencies of different decimals, half up', () => {
    expect(convertMinor(10_000, '1.0825', 2, 2)).toBe(10_825); // 100.00 EUR → 108.25 USD
    expect(convertMinor(1_000, '0.0067', 0, 2)).toBe(670); // 1000 JPY → 6.70 USD
    expect(convertMinor(1_000, '3.25', 3, 2)).toBe(325); // 1.000 KWD → 3.25 USD
    expect(convertMinor(1, '0.5', 2, 2)).toBe(1); // half up
    expect(convertMinor(10_000, '150.12', 2, 0)).toBe(15_012); // 100.00 USD → 15012 JPY
  });

  it('cumulatively: the parts add up to the converted whole, so equal sides stay equal', () => {
    fc.assert(
      fc.property(fc.array(fc.integer({ min: 1, max: 10_000_000 }), { minLength: 1, maxLength: 8 }), fc.integer({ min: 1, max: 99_999_999 }), (amounts, scaled) => {
        const rate = normalizeRate((scaled / 10_000).toFixed(4))!;
        const parts = convertCumulative(amounts, rate, 2, 2);
        const total = amounts.reduce((n, a) => n + a, 0);
        expect(parts.reduce((n, p) => n + p, 0)).toBe(convertMinor(total, rate, 2, 2));
        expect(parts.every((p) => p >= 0)).toBe(true);
      }),
    );
  });

  it('values an amount at the ratio a balance was booked at', () => {
    expect(atBookedRatio(5_000, 10_825, 10_000)).toBe(5_413); // 5412.5 rounds up
    expect(atBookedRatio(10_000, 10_825, 10_000)).toBe(10_825);
  });
});
