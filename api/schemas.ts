/**
 * The request rules the routes share: ids, skus, warehouse codes, money, quantities,
 * currencies, dates, decisions and reasons, paging. Each rule is written here once, with
 * the message a client gets when a value breaks it.
 *
 * Where routes take the same kind of value by different rules (an id's longest length, the
 * message a pattern answers with), each variant has its own name below, so that a difference
 * is one a reader can see and choose, not two copies drifting apart.
 */
import { z } from 'zod';
import { isIsoCurrency } from '../domain/currency.js';
import { businessRule } from './errors.js';

// ---------------------------------------------------------------- ids

/** Letters, digits, `.`, `_` and `-`, starting with a letter or digit, `max` characters at most. */
const idUpTo = (max: number) => new RegExp(`^[A-Za-z0-9][A-Za-z0-9._-]{0,${max - 1}}$`);

/** A caller's id for a record: an order, a customer, a purchase order, a supplier, a receipt, an invoice. */
export const recordId = z.string().regex(idUpTo(64), 'letters, digits, . _ - (up to 64), starting with a letter or digit');
/** The same rule with a shorter message, as transfers and stock adjustments answer it. */
export const recordIdBrief = z.string().regex(idUpTo(64), 'letters, digits, . _ - (up to 64)');
/** The same rule answered with zod's own message, which shows the pattern (an order named by a return, a return's parcel, inspection and refurbishment ids). */
export const recordIdByPattern = z.string().regex(idUpTo(64));
/** A return's id: up to 60 characters. */
export const returnId = z.string().regex(idUpTo(60), 'letters, digits, . _ - (up to 60), starting with a letter or digit');
/** A shipment's id: up to 81 characters. */
export const shipmentId = z.string().regex(idUpTo(81), 'a shipment id such as ORDER-1');
/** A vendor return's id, the longest id a path names: up to 151 characters, answered with zod's message. */
export const vendorReturnId = z.string().regex(idUpTo(151));
/** A planner run's id: a record id that may also hold `:`, up to 80 characters. */
export const runId = z.string().regex(/^[A-Za-z0-9][A-Za-z0-9:._-]{0,79}$/);

// ---------------------------------------------------------------- skus, warehouses, channels

const skuChars = '[A-Z0-9][A-Z0-9-]{2,39}';
const warehouseChars = '[A-Z0-9][A-Z0-9-]{1,15}';
const whole = (chars: string) => new RegExp(`^${chars}$`);

/** A sku: upper-case letters, digits and dashes, 3 to 40 characters. */
export const sku = z.string().regex(whole(skuChars), 'upper-case letters, digits and dashes, 3 to 40');
/** The same pattern answered with zod's own message (the replenishment suggestions' query string). */
export const skuByPattern = z.string().regex(whole(skuChars));
/** Where a route names a sku as any text of 1 to 40, not held to the sku pattern (stock adjustments, bin locations, short picks). */
export const skuText = z.string().min(1).max(40);
/** The last sku of the previous page. */
export const afterSku = sku.optional().describe('the last sku of the previous page');

/** A warehouse code: upper-case letters, digits and dashes, 2 to 16 characters. */
export const warehouseCode = z.string().regex(whole(warehouseChars), 'upper-case letters, digits and dashes, 2 to 16');
/** The same pattern with a shorter message, as returns and bin locations answer it. */
export const warehouseCodeBrief = z.string().regex(whole(warehouseChars), 'a warehouse code');
/** Where a route names a warehouse as any text of 1 to 16, not held to the code pattern (purchase orders, stock adjustments, replenishment). */
export const warehouseText = z.string().min(1).max(16);

/** A place of stock, `SKU@WAREHOUSE`: the inventory's page cursor. */
export const skuAtWarehouse = z.string().regex(new RegExp(`^${skuChars}@${warehouseChars}$`), 'sku@warehouse');

/** A channel named in a path: any text of 1 to 64; a channel that does not exist is 404. */
export const channelInPath = z.string().min(1).max(64);

/** Where a channel's changes are delivered: an http(s) URL of 2,000 characters at most. */
export const webhookUrl = z.url({ protocol: /^https?$/, error: 'an http(s) URL' }).max(2_000);
/** The same rule answered with zod's own message, as a channel's settings (POST /channels) take it. */
export const webhookUrlPlainMessage = z.url({ protocol: /^https?$/ }).max(2_000);

// ---------------------------------------------------------------- money, currencies, quantities

/** Money in integer minor units of its currency, 0 to 2^53 − 1. */
export const minor = z.number().int().min(0).max(Number.MAX_SAFE_INTEGER);
/** An ISO 4217 currency code, checked against the ISO table (domain/currency.ts). */
export const currencyCode = z
  .string()
  .regex(/^[A-Z]{3}$/, 'ISO 4217 code like USD')
  .refine(isIsoCurrency, { message: 'not an ISO 4217 currency' });

/** Units on an order line, and on a return of one: 1 to 100,000. */
export const lineQty = z.number().int().min(1).max(100_000);
/** Units found for an order line at a short pick, none included: 0 to 100,000. */
export const lineQtyOrNone = z.number().int().min(0).max(100_000);
/** Units bought, received or moved between warehouses: 1 to 1,000,000. */
export const stockQty = z.number().int().min(1).max(1_000_000);
/** The same where none is an answer (confirmed, accepted, rejected, received, damaged): 0 to 1,000,000. */
export const stockQtyOrNone = z.number().int().min(0).max(1_000_000);

/** A line's number on its order or purchase order: 1 to 10,000. */
export const lineNo = z.number().int().min(1).max(10_000);
/** A line number with no upper bound, as a short pick names its shipment's lines. */
export const lineNoUnbounded = z.number().int().min(1);

/** Each line number once in a list of lines (a line without one takes its place in the list): 422 repeated_line_number. */
export function lineNumbersOnce(ctx: z.RefinementCtx): (line: { lineNo?: number }, index: number) => void {
  const seen = new Set<number>();
  return (line, index) => {
    const no = line.lineNo ?? index + 1;
    if (seen.has(no)) ctx.addIssue({ code: 'custom', ...businessRule('repeated_line_number', `duplicate line number ${no}`, ['lines', index, 'lineNo']) });
    seen.add(no);
  };
}

/** `lineNumbersOnce` over a whole list, for a body's superRefine. */
export const distinctLineNumbers = (lines: { lineNo?: number }[], ctx: z.RefinementCtx): void => lines.forEach(lineNumbersOnce(ctx));

// ---------------------------------------------------------------- dates

/** A date-time with its offset: 2025-03-01T09:30:00Z. */
export const dateTime = z.iso.datetime({ offset: true });
/** A date-time with its offset, or a date: 2025-03-01. */
export const dateOrDateTime = z.union([dateTime, z.iso.date()]);
/** A bound of a reporting range in a query string. */
export const instant = dateOrDateTime.describe('an ISO date or date-time');

// ---------------------------------------------------------------- decisions

/** Why a person decides or changes something. */
export const reason = z.string().trim().min(3, 'say why, in a few words').max(500);
/** A person's decision on what waits for one: a hold, an approval, an invoice, a refund. */
export const decisionBody = z.object({ decision: z.enum(['approve', 'reject']), reason });
/** Cancel what is still open, saying why. */
export const cancelBody = z.object({ reason });

// ---------------------------------------------------------------- paging

/** How many records a page holds, from the query string: 1 to `max`, `fallback` when not given. */
export const pageLimit = (fallback: number, max: number) => z.coerce.number().int().min(1).max(max).default(fallback);

/** A lot code as the supplier prints it: letters, digits and . _ / - (up to 40). */
export const lotCode = z.string().regex(/^[A-Za-z0-9][A-Za-z0-9._/-]{0,39}$/, 'letters, digits and . _ / - (up to 40), starting with a letter or digit');
/** A lot's expiry, an ISO date (`YYYY-MM-DD`). */
export const expiryDate = z.iso.date().describe('the lot expiry, YYYY-MM-DD');
