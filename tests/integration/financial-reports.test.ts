/**
 * The income statement of a month and the balance sheet as of a day, from the journal by
 * posting date: a shipped terms order moves revenue, tax, freight, cost and receivable, and
 * the balance sheet balances with the result as current earnings.
 */
import { describe, expect, it } from 'vitest';
import { trialBalance } from '../../db/journal.js';
import { addItem, addWarehouse, stock } from '../support/fixtures.js';
import { COST, orderDriver } from '../support/orders.js';
import { authAs, uniqueId, useTestStack } from '../support/stack.js';

const stack = useTestStack();
const { shipmentsOf, ship, waitForOrder } = orderDriver(stack);
type Role = Parameters<typeof authAs>[0];
const get = (url: string, role: Role = 'finance') => stack.app.inject({ method: 'GET', url, headers: authAs(role) });
const PRICE = 1_999;
const today = () => new Date().toISOString().slice(0, 10);
const amountOf = (section: { accounts: { code: string; amountMinor: number }[] }, code: string) => section.accounts.find((a) => a.code === code)?.amountMinor ?? 0;

interface Amounts { accounts: { code: string; amountMinor: number }[]; totalMinor: number }
interface Sheet { assets: Amounts; liabilities: Amounts; equity: Amounts & { currentEarningsMinor: number }; liabilitiesAndEquityMinor: number; balanced: boolean }

describe('financial statements', () => {
  it('shows a shipped sale in the month and keeps assets = liabilities + equity', async () => {
    const period = today().slice(0, 7);
    const incomeBefore = (await get(`/reports/income-statement?period=${period}`)).json();
    const sheetBefore = (await get('/reports/balance-sheet', 'viewer')).json<Sheet>();
    expect(sheetBefore.balanced).toBe(true);

    const sku = await addItem(stack.db, undefined, { price_minor: PRICE, average_cost_minor: COST });
    const warehouse = await addWarehouse(stack.db, undefined, { lat: 40.7, lon: -74.1 });
    await stock(stack.db, sku, warehouse, 1, COST);
    const orderId = uniqueId('ord-');
    const created = await stack.app.inject({
      method: 'POST',
      url: '/orders',
      headers: authAs('system'),
      payload: { orderId, channel: 'wholesale', customerId: uniqueId('c-'), shipTo: { country: 'US', lat: 40.7, lon: -74 }, lines: [{ sku, qty: 1, unitPriceMinor: PRICE }], payment: { kind: 'terms', dueDate: today() } },
    });
    expect(created.statusCode, created.body).toBe(201);
    const [shipmentId] = [...(await shipmentsOf(orderId, 1)).values()];
    await ship(shipmentId!, 250);
    await waitForOrder(orderId, 'shipped');

    const income = await get(`/reports/income-statement?period=${period}`, 'viewer');
    expect(income.statusCode, income.body).toBe(200);
    const after = income.json();
    expect(after).toMatchObject({ period, from: `${period}-01`, functionalCurrency: 'USD' });
    // The sale's revenue and its cost, at least (other tests may post in the same month).
    expect(amountOf(after.revenue, '4000') - amountOf(incomeBefore.revenue, '4000')).toBeGreaterThanOrEqual(PRICE);
    expect(amountOf(after.expenses, '5000') - amountOf(incomeBefore.expenses, '5000')).toBeGreaterThanOrEqual(COST);
    expect(after.netIncomeMinor).toBe(after.revenue.totalMinor - after.expenses.totalMinor);
    expect(after.revenue.totalMinor).toBe(after.revenue.accounts.reduce((n: number, a: { amountMinor: number }) => n + a.amountMinor, 0));

    const sheet = (await get(`/reports/balance-sheet?asOf=${today()}`)).json<Sheet>();
    expect(sheet.balanced).toBe(true);
    expect(sheet.assets.totalMinor).toBe(sheet.liabilities.totalMinor + sheet.equity.totalMinor);
    expect(sheet.liabilitiesAndEquityMinor).toBe(sheet.assets.totalMinor);
    expect(amountOf(sheet.assets, '1100') - amountOf(sheetBefore.assets, '1100')).toBeGreaterThanOrEqual(PRICE);
    // Every account of the trial balance lands in one statement or the other.
    const trial = await trialBalance(stack.db, today());
    const net = (type: string) => trial.accounts.filter((a) => a.type === type).reduce((n, a) => n + a.balanceMinor, 0);
    expect(sheet.assets.totalMinor).toBe(net('asset'));
    expect(sheet.equity.currentEarningsMinor).toBe(-(net('revenue') + net('expense')));

    // Before anything was posted, nothing is there.
    const empty = (await get('/reports/balance-sheet?asOf=2000-01-01')).json<Sheet>();
    expect(empty).toMatchObject({ balanced: true, liabilitiesAndEquityMinor: 0, assets: { accounts: [], totalMinor: 0 } });
  });

  it('refuses a malformed period or date and roles outside finance and viewer', async () => {
    for (const url of ['/reports/income-statement?period=2026-13', '/reports/income-statement', '/reports/balance-sheet?asOf=yesterday']) {
      const response = await get(url);
      expect(response.statusCode, url).toBe(400);
    }
    expect((await get('/reports/income-statement?period=2026-01', 'ops')).statusCode).toBe(403);
    expect((await get('/reports/balance-sheet', 'buyer')).statusCode).toBe(403);
  });
});
