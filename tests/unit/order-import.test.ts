/** CSV rows into orders: each row checked, rows grouped by order, a bad row keeps its whole order out. */
import { describe, expect, it } from 'vitest';
import { ordersFromRows, type ImportRow } from '../../domain/order-import.js';
import { offlineGeocoder } from '../../services/geocode.js';

const base = { order_id: 'O-1', customer_id: 'C-1', sku: 'SKU-1', qty: '2', unit_price: '10.00', ship_country: 'US', ship_postal_code: '10001' };
const rows = (...values: Record<string, string>[]): ImportRow[] => values.map((v, i) => ({ row: i + 2, values: { ...base, ...v } }));
const read = (...values: Record<string, string>[]) => ordersFromRows(rows(...values), 'wholesale', offlineGeocoder);

describe('ordersFromRows', () => {
  it('groups the rows of an order into its lines, money in minor units, coordinates from the postal code', () => {
    const { orders, results } = read({}, { sku: 'sku-2', qty: '1', unit_price: '0.5', discount: '0.10', tax: '0.04' });
    expect(results.every((r) => r.accepted)).toBe(true);
    expect(orders).toEqual([
      {
        orderId: 'O-1',
        channel: 'wholesale',
        customerId: 'C-1',
        currency: 'USD',
        shipTo: { postalCode: '10001', country: 'US', lat: expect.closeTo(40.75, 1), lon: expect.closeTo(-73.99, 1) },
        freightMinor: 0,
        lines: [
          { lineNo: 1, sku: 'SKU-1', qty: 2, unitPriceMinor: 1000, discountMinor: 0, taxMinor: 0 },
          { lineNo: 2, sku: 'SKU-2', qty: 1, unitPriceMinor: 50, discountMinor: 10, taxMinor: 4 },
        ],
      },
    ]);
  });

  it.each([
    [{ qty: '0' }, 'qty "0" is not a whole number from 1 to 100000'],
    [{ unit_price: '-1' }, 'unit_price "-1" is not an amount of 0 or more'],
    [{ discount: '25.00' }, 'discount exceeds the line amount'],
    [{ currency: 'EURO' }, 'currency "EURO" is not an ISO 4217 currency'],
    [{ ship_lat: '40' }, 'ship_lat and ship_lon: both or neither, within -90..90 and -180..180'],
    [{ sku: 'a' }, 'sku "a": upper-case letters, digits and dashes, 3 to 40'],
    [{ promised_by: 'soon' }, 'promised_by "soon" is not a date'],
  ])('refuses a row with %o', (change, problem) => {
    const { orders, results } = read(change);
    expect(orders).toEqual([]);
    expect(results[0]!.problems).toContain(problem);
  });

  it('keeps an order out when one of its rows is bad or its rows disagree, and imports the others', () => {
    const { orders, results } = read({}, { qty: 'x' }, { order_id: 'O-2' }, { order_id: 'O-3' }, { order_id: 'O-3', customer_id: 'C-9' });
    expect(orders.map((o) => o.orderId)).toEqual(['O-2']);
    expect(results.map((r) => [r.row, r.accepted])).toEqual([
      [2, false],
      [3, false],
      [4, true],
      [5, false],
      [6, false],
    ]);
    expect(results[0]!.problems).toEqual(['order O-1 is not imported: row 3 is bad']);
    expect(results[4]!.problems).toEqual(['order-level fields differ from row 5 of order O-3']);
  });
});
