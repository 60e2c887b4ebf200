/**
 * Currencies and exchange rates. Minor units follow ISO 4217 as published (the
 * `currency-codes` table: JPY 0 decimals, KWD and IQD 3, HUF 2), not `Intl.NumberFormat`,
 * which disagrees with ISO for several currencies and formats made-up codes.
 *
 * A rate says how many units of the functional currency one unit of the transaction
 * currency is worth (EUR→USD 1.0825). Rates are decimal strings, never binary floats:
 * converting minor units uses integer arithmetic on the rate's digits.
 */
import { code as iso4217 } from 'currency-codes';

/** Codes in the ISO table that are not money anyone is paid in: precious metals, bond units, testing, no currency. */
const notMoney = new Set(['XAG', 'XAU', 'XBA', 'XBB', 'XBC', 'XBD', 'XPD', 'XPT', 'XTS', 'XXX']);

/** The ISO 4217 minor units of a currency, or undefined when the code is not an ISO 4217 currency. */
export function minorUnits(currency: string): number | undefined {
  if (!/^[A-Z]{3}$/.test(currency) || notMoney.has(currency)) return undefined;
  return iso4217(currency)?.digits;
}

export const isIsoCurrency = (currency: string): boolean => minorUnits(currency) !== undefined;

/** At most 12 digits before the point and 10 after; positive. */
const rateText = /^(\d{1,12})(?:\.(\d{1,10}))?$/;

/**
 * A rate as a canonical decimal string (`1.0825`, `150`), or undefined when it is not a
 * positive decimal with at most 12 integer and 10 fractional digits.
 */
export function normalizeRate(value: string | number): string | undefined {
  const text = typeof value === 'number' ? (Number.isFinite(value) ? numberText(value) : '') : value.trim();
  const match = rateText.exec(text);
  if (!match) return undefined;
  const whole = match[1]!.replace(/^0+(?=\d)/, '');
  const fraction = (match[2] ?? '').replace(/0+$/, '');
  if (/^0*$/.test(whole + fraction)) return undefined;
  return fraction ? `${whole}.${fraction}` : whole;
}

/** A number's plain decimal digits (no exponent), to at most 10 fractional digits. */
function numberText(value: number): string {
  const text = String(value);
  return /e/i.test(text) ? value.toFixed(10) : text;
}

/** The rate as a fraction of integers: `1.0825` → 10825 / 10000. */
function rateFraction(rate: string): { num: bigint; den: bigint } {
  const [whole, fraction = ''] = rate.split('.');
  return { num: BigInt(`${whole}${fraction}`), den: 10n ** BigInt(fraction.length) };
}

/** `numerator / denominator`, rounded half up (both non-negative, denominator positive). */
function divideHalfUp(numerator: bigint, denominator: bigint): bigint {
  return (2n * numerator + denominator) / (2n * denominator);
}

/**
 * An amount in minor units of `from` converted at `rate` into minor units of `to`,
 * rounded half up: amount × rate × 10^(digits of to − digits of from).
 */
export function convertMinor(amountMinor: number, rate: string, fromDigits: number, toDigits: number): number {
  return Number(convertBig(BigInt(amountMinor), rate, fromDigits, toDigits));
}

function convertBig(amount: bigint, rate: string, fromDigits: number, toDigits: number): bigint {
  const { num, den } = rateFraction(rate);
  const shift = toDigits - fromDigits;
  const numerator = amount * num * (shift > 0 ? 10n ** BigInt(shift) : 1n);
  const denominator = den * (shift < 0 ? 10n ** BigInt(-shift) : 1n);
  return divideHalfUp(numerator, denominator);
}

/**
 * Converts amounts that add up as a whole (the debits of one currency in an entry)
 * cumulatively: each part is round(rate × running total) − round(rate × total before),
 * so the parts add up to the converted total exactly and equal totals on both sides of
 * an entry stay equal after conversion.
 */
export function convertCumulative(amountsMinor: number[], rate: string, fromDigits: number, toDigits: number): number[] {
  let running = 0n;
  let previous = 0n;
  return amountsMinor.map((amount) => {
    running += BigInt(amount);
    const upTo = convertBig(running, rate, fromDigits, toDigits);
    const part = Number(upTo - previous);
    previous = upTo;
    return part;
  });
}

/**
 * `amount` at the ratio `functional / transaction` (the rate a balance was booked at, for
 * a receivable or revenue booked over several shipments at their own rates), rounded half up.
 */
export function atBookedRatio(amountMinor: number, functionalMinor: number, transactionMinor: number): number {
  if (transactionMinor <= 0) throw new RangeError('a booked ratio needs a positive transaction amount');
  return Number(divideHalfUp(BigInt(amountMinor) * BigInt(functionalMinor), BigInt(transactionMinor)));
}
