/**
 * Local fakes of the storefront platforms' admin APIs, on free local ports: they keep orders,
 * fulfillment orders, fulfillments, refunds and notes as the platforms do, refuse requests
 * whose shape or credentials the platform would refuse (401, 404, 422), and can be told to
 * answer the next requests with 429 and Retry-After, or 5xx.
 */
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { parsePlatformJson } from '../../services/connectors/connector.js';
import { platformJson } from './storefront.js';

type Json = Record<string, unknown>;
interface Answer {
  status: number;
  body?: unknown;
  headers?: Record<string, string>;
}
export interface LoggedRequest {
  method: string;
  path: string;
  status: number;
  at: number;
  body: unknown;
}

abstract class FakePlatform {
  readonly requests: LoggedRequest[] = [];
  private readonly faults: Answer[] = [];
  private server: http.Server | undefined;
  protected port = 0;

  constructor(protected readonly prefix: string) {}

  abstract authorized(headers: http.IncomingHttpHeaders): boolean;
  abstract route(method: string, path: string, query: URLSearchParams, body: Json): Answer;

  get baseUrl(): string {
    return `http://127.0.0.1:${this.port}${this.prefix}`;
  }

  /** The next `count` requests answer 429 with `Retry-After: seconds`. */
  storm(count: number, seconds = 1): void {
    for (let i = 0; i < count; i++) this.faults.push({ status: 429, body: { errors: 'Exceeded 2 calls per second for api client. Reduce request rates to resume uninterrupted service.' }, headers: { 'retry-after': seconds.toFixed(1) } });
  }

  /** The next `count` requests fail with `status`. */
  fail(count: number, status = 503): void {
    for (let i = 0; i < count; i++) this.faults.push({ status, body: { errors: 'Service unavailable' } });
  }

  async start(): Promise<void> {
    const server = http.createServer((request, response) => {
      const chunks: Buffer[] = [];
      request.on('data', (chunk: Buffer) => chunks.push(chunk));
      request.on('end', () => {
        const url = new URL(request.url ?? '/', 'http://fake');
        const method = request.method ?? 'GET';
        const path = url.pathname.startsWith(this.prefix) ? url.pathname.slice(this.prefix.length) : url.pathname;
        const text = Buffer.concat(chunks).toString('utf8');
        let body: Json = {};
        let answer: Answer;
        try {
          body = text ? (parsePlatformJson(text) as Json) : {};
          answer = this.faults.shift() ?? (this.authorized(request.headers) ? this.route(method, path, url.searchParams, body) : { status: 401, body: { errors: '[API] Invalid API key or access token (unrecognized login or wrong password)' } });
        } catch {
          answer = { status: 400, body: { errors: 'bad JSON' } };
        }
        this.requests.push({ method, path, status: answer.status, at: Date.now(), body });
        response.writeHead(answer.status, { 'content-type': 'application/json', ...answer.headers }).end(answer.body === undefined ? '' : platformJson(answer.body));
      });
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', () => resolve()));
    this.port = (server.address() as AddressInfo).port;
    this.server = server;
  }

  async stop(): Promise<void> {
    const server = this.server;
    this.server = undefined;
    if (server) await new Promise<void>((resolve) => server.close(() => resolve()));
  }
}

const unprocessable = (errors: unknown): Answer => ({ status: 422, body: { errors } });
const notFound: Answer = { status: 404, body: { errors: 'Not Found' } };
let nextId = 5_000_000_000;
const newId = () => String(nextId++);

// ---------------------------------------------------------------- Shopify

interface ShopifyState {
  order: Json;
  fulfillmentOrders: { id: string; status: string; line_items: { id: string; line_item_id: string; quantity: number; fulfillable_quantity: number }[] }[];
  fulfillments: Json[];
  refunds: Json[];
  transactions: Json[];
}

export class FakeShopify extends FakePlatform {
  readonly orders = new Map<string, ShopifyState>();
  constructor(readonly token = 'shpat_fake_admin_token_0001') {
    super('/admin/api/2024-10');
  }

  authorized(headers: http.IncomingHttpHeaders): boolean {
    return headers['x-shopify-access-token'] === this.token;
  }

  /** An order the shop has (as its webhook told it), with one open fulfillment order of every line and its payment. */
  addOrder(order: Json): void {
    const id = String(order.id);
    const lines = (order.line_items as Json[]).map((l) => ({ id: newId(), line_item_id: String(l.id), quantity: Number(l.current_quantity ?? l.quantity), fulfillable_quantity: Number(l.current_quantity ?? l.quantity) }));
    this.orders.set(id, {
      order: { ...order, fulfillment_status: null },
      fulfillmentOrders: [{ id: newId(), status: 'open', line_items: lines }],
      fulfillments: [],
      refunds: [],
      transactions: [{ id: newId(), kind: 'sale', status: 'success', gateway: 'shopify_payments', amount: order.total_price }],
    });
  }

  fulfillmentsOf(orderId: string): Json[] {
    return this.orders.get(orderId)?.fulfillments ?? [];
  }

  route(method: string, path: string, query: URLSearchParams, body: Json): Answer {
    let m: RegExpExecArray | null;
    if (method === 'GET' && path === '/orders.json') {
      const from = Date.parse(query.get('updated_at_min') ?? '1970-01-01T00:00:00Z');
      const to = Date.parse(query.get('updated_at_max') ?? '2999-01-01T00:00:00Z');
      const since = BigInt(query.get('since_id') ?? '0');
      const limit = Number(query.get('limit') ?? 50);
      if (query.get('status') !== 'any') return unprocessable({ status: 'expected any' });
      const orders = [...this.orders.values()]
        .map((s) => this.orderJson(s))
        .filter((o) => BigInt(String(o.id)) > since && Date.parse(String(o.updated_at)) >= from && Date.parse(String(o.updated_at)) <= to)
        .sort((a, b) => (BigInt(String(a.id)) < BigInt(String(b.id)) ? -1 : 1))
        .slice(0, limit);
      return { status: 200, body: { orders } };
    }
    if ((m = /^\/orders\/(\d+)(\.json|\/[a-z_]+\.json)$/.exec(path))) {
      const state = this.orders.get(m[1]!);
      if (!state) return notFound;
      const what = m[2]!;
      if (method === 'GET' && what === '.json') return { status: 200, body: { order: this.orderJson(state) } };
      if (method === 'GET' && what === '/fulfillments.json') return { status: 200, body: { fulfillments: state.fulfillments } };
      if (method === 'GET' && what === '/fulfillment_orders.json') return { status: 200, body: { fulfillment_orders: state.fulfillmentOrders.map((fo) => ({ ...fo, order_id: m![1] })) } };
      if (method === 'GET' && what === '/refunds.json') return { status: 200, body: { refunds: state.refunds } };
      if (method === 'GET' && what === '/transactions.json') return { status: 200, body: { transactions: state.transactions } };
      if (method === 'POST' && what === '/cancel.json') {
        if (state.order.cancelled_at) return unprocessable({ base: ['Order has already been cancelled'] });
        state.order = { ...state.order, cancelled_at: new Date().toISOString(), updated_at: new Date().toISOString() };
        return { status: 200, body: { order: state.order } };
      }
      if (method === 'POST' && what === '/refunds.json') return this.refund(state, body);
    }
    if (method === 'POST' && path === '/fulfillments.json') return this.fulfil(body);
    return notFound;
  }

  /** An order as Shopify shows it: with its fulfillments (and their tracking) in it. */
  private orderJson(state: ShopifyState): Json {
    return { ...state.order, fulfillments: state.fulfillments };
  }

  private fulfil(body: Json): Answer {
    const f = body.fulfillment as Json | undefined;
    const groups = f?.line_items_by_fulfillment_order as Json[] | undefined;
    const tracking = f?.tracking_info as Json | undefined;
    if (!f || !Array.isArray(groups) || groups.length === 0) return unprocessable({ fulfillment: ['line_items_by_fulfillment_order is required'] });
    if (tracking && (typeof tracking.number !== 'string' || typeof tracking.company !== 'string')) return unprocessable({ tracking_info: ['number and company are strings'] });
    const state = [...this.orders.values()].find((s) => s.fulfillmentOrders.some((fo) => fo.id === String(groups[0]!.fulfillment_order_id)));
    if (!state) return unprocessable({ fulfillment_order_id: ['not found'] });
    const fulfilled: { id: string; quantity: number }[] = [];
    for (const group of groups) {
      const fo = state.fulfillmentOrders.find((x) => x.id === String(group.fulfillment_order_id));
      if (!fo || fo.status === 'closed') return unprocessable({ fulfillment_order_id: [`${String(group.fulfillment_order_id)} is not open`] });
      for (const item of (group.fulfillment_order_line_items as Json[]) ?? []) {
        const line = fo.line_items.find((l) => l.id === String(item.id));
        const qty = Number(item.quantity);
        if (!line || !Number.isInteger(qty) || qty < 1 || qty > line.fulfillable_quantity) return unprocessable({ fulfillment_order_line_items: [`invalid quantity for ${String(item.id)}`] });
      }
    }
    for (const group of groups) {
      const fo = state.fulfillmentOrders.find((x) => x.id === String(group.fulfillment_order_id))!;
      for (const item of group.fulfillment_order_line_items as Json[]) {
        const line = fo.line_items.find((l) => l.id === String(item.id))!;
        line.fulfillable_quantity -= Number(item.quantity);
        fulfilled.push({ id: line.line_item_id, quantity: Number(item.quantity) });
      }
      if (fo.line_items.every((l) => l.fulfillable_quantity === 0)) fo.status = 'closed';
    }
    const made = {
      id: newId(),
      order_id: state.order.id,
      status: 'success',
      tracking_company: tracking?.company ?? null,
      tracking_number: tracking?.number ?? null,
      tracking_numbers: tracking?.number ? [tracking.number] : [],
      notify_customer: f.notify_customer === true,
      line_items: fulfilled,
    };
    state.fulfillments.push(made);
    const open = state.fulfillmentOrders.some((fo) => fo.status !== 'closed');
    state.order = { ...state.order, fulfillment_status: open ? 'partial' : 'fulfilled', updated_at: new Date().toISOString() };
    return { status: 201, body: { fulfillment: made } };
  }

  private refund(state: ShopifyState, body: Json): Answer {
    const r = body.refund as Json | undefined;
    if (!r || !Array.isArray(r.refund_line_items) || !Array.isArray(r.transactions)) return unprocessable({ refund: ['refund_line_items and transactions are required'] });
    for (const t of r.transactions as Json[]) {
      if (!state.transactions.some((x) => String(x.id) === String(t.parent_id))) return unprocessable({ parent_id: ['not a transaction of this order'] });
      if (typeof t.amount !== 'string' || !/^\d+\.\d{2}$/.test(t.amount) || t.kind !== 'refund') return unprocessable({ amount: ['a decimal string, kind refund'] });
    }
    const made = { id: newId(), order_id: state.order.id, note: r.note ?? null, refund_line_items: r.refund_line_items, transactions: r.transactions };
    state.refunds.push(made);
    return { status: 201, body: { refund: made } };
  }
}

// ---------------------------------------------------------------- WooCommerce

interface WooState {
  order: Json;
  notes: Json[];
  refunds: Json[];
}

export class FakeWooCommerce extends FakePlatform {
  readonly orders = new Map<string, WooState>();
  constructor(readonly credentials = 'ck_fake0001:cs_fake0001') {
    super('/wp-json/wc/v3');
  }

  authorized(headers: http.IncomingHttpHeaders): boolean {
    return headers.authorization === `Basic ${Buffer.from(this.credentials).toString('base64')}`;
  }

  addOrder(order: Json): void {
    this.orders.set(String(order.id), { order: { ...order }, notes: [], refunds: [] });
  }

  route(method: string, path: string, query: URLSearchParams, body: Json): Answer {
    if (method === 'GET' && path === '/orders') {
      const from = Date.parse(`${query.get('modified_after') ?? '1970-01-01T00:00:00'}`);
      const to = Date.parse(`${query.get('modified_before') ?? '2999-01-01T00:00:00'}`);
      const page = Number(query.get('page') ?? 1);
      const per = Number(query.get('per_page') ?? 10);
      const all = [...this.orders.values()].map((s) => s.order).filter((o) => Date.parse(`${String(o.date_modified_gmt)}Z`) >= from && Date.parse(`${String(o.date_modified_gmt)}Z`) <= to);
      return { status: 200, body: all.slice((page - 1) * per, page * per) };
    }
    const m = /^\/orders\/(\d+)(\/notes|\/refunds)?$/.exec(path);
    const state = m ? this.orders.get(m[1]!) : undefined;
    if (!m || !state) return notFound;
    if (!m[2]) {
      if (method === 'GET') return { status: 200, body: state.order };
      if (method === 'PUT') {
        const allowed = ['pending', 'processing', 'on-hold', 'completed', 'cancelled', 'refunded', 'failed'];
        if (body.status !== undefined && !allowed.includes(String(body.status))) return { status: 400, body: { code: 'rest_invalid_param', message: 'Invalid parameter(s): status' } };
        state.order = { ...state.order, ...body, date_modified_gmt: new Date().toISOString().slice(0, 19) };
        return { status: 200, body: state.order };
      }
    }
    if (m[2] === '/notes') {
      if (method === 'GET') return { status: 200, body: state.notes };
      if (typeof body.note !== 'string' || !body.note) return { status: 400, body: { code: 'rest_missing_callback_param', message: 'Missing parameter(s): note' } };
      const note = { id: Number(newId()), note: body.note, customer_note: body.customer_note === true, date_created: new Date().toISOString() };
      state.notes.push(note);
      return { status: 201, body: note };
    }
    if (method === 'GET') return { status: 200, body: state.refunds };
    if (typeof body.amount !== 'string' || !/^\d+\.\d{2}$/.test(body.amount)) return { status: 400, body: { code: 'rest_invalid_param', message: 'Invalid parameter(s): amount' } };
    const refund = { id: Number(newId()), amount: body.amount, reason: body.reason ?? '', refunded_payment: body.api_refund !== false };
    state.refunds.push(refund);
    return { status: 201, body: refund };
  }
}
