/**
 * Plain-language accounts of an order and of a return, from their records: what happened,
 * when, and (for operators) who decided and why. Two wordings: the customer's, which names
 * no warehouse, rule or person, and the operator's, which names them all.
 */

export type StoryAudience = 'customer' | 'operator';

export interface StoryHold {
  flags: { rule: string; detail?: string }[];
  since: string;
  escalated?: boolean;
  decision?: { decision: 'approve' | 'reject'; reason: string; actor: string; at: string };
  /** Who decided, as the audit log recorded it (role and person), when it has the row. */
  audit?: { actor: string; role: string; at: string };
}

export interface StoryShipment {
  shipmentId: string;
  warehouse: string;
  status: string;
  units: number;
  carrier: string | null;
  tracking: string | null;
  shippedAt: string | null;
  deliveredAt: string | null;
}

export interface StoryReturn {
  returnId: string;
  orderId: string;
  status: string;
  statusReason: string | null;
  reasonCode: string;
  resolution: 'refund' | 'exchange';
  currency: string;
  units: number;
  receivedUnits: number;
  authorizedAt: string;
  requestedBy: string;
  firstReceivedAt: string | null;
  inspectedAt: string | null;
  refundedAt: string | null;
  refundMinor: number | null;
  creditMinor: number | null;
  replacementOrderId: string | null;
  closedAt: string | null;
}

export interface StoryOrder {
  orderId: string;
  channel: string;
  customerId: string;
  currency: string;
  totalMinor: number;
  status: string;
  statusReason: string | null;
  createdAt: string;
  releasedAt: string | null;
  closedAt: string | null;
  units: number;
  cancelledUnits: number;
  backorderedUnits: number;
  hold: StoryHold | null;
  /** Each allocation's routing: whether it split and why. */
  routing: { split: boolean; reason: string }[];
  shipments: StoryShipment[];
  returns: StoryReturn[];
}

export interface StoryEvent {
  at: string;
  /** A stable name of the step: placed, held, hold_approved, split, shipped, … */
  step: string;
  text: string;
}

export interface Story {
  audience: StoryAudience;
  /** One paragraph: the events' sentences in the order they happened. */
  text: string;
  events: StoryEvent[];
}

/** Currencies without minor units; every other is shown with two decimals. */
const ZERO_DECIMAL = new Set(['JPY', 'KRW', 'VND', 'CLP', 'ISK']);

export function formatMoney(minor: number, currency: string): string {
  if (ZERO_DECIMAL.has(currency)) return `${minor} ${currency}`;
  const sign = minor < 0 ? '-' : '';
  const abs = Math.abs(minor);
  return `${sign}${Math.floor(abs / 100)}.${String(abs % 100).padStart(2, '0')} ${currency}`;
}

/** `2026-12-07 14:05 UTC`: the same for every reader, whatever the server's zone. */
export function formatTime(iso: string): string {
  const d = new Date(iso);
  return Number.isNaN(d.getTime()) ? iso : `${d.toISOString().slice(0, 10)} ${d.toISOString().slice(11, 16)} UTC`;
}

const plural = (n: number, one: string, many = `${one}s`) => `${n} ${n === 1 ? one : many}`;
const ordinal = (i: number) => ['first', 'second', 'third', 'fourth', 'fifth'][i] ?? `${i + 1}th`;

/**
 * Events in the order the process went through them (placed, held, decided, split, shipped,
 * returned), not sorted by their clocks: the order's record is written a moment after its
 * process has started, so a hold can carry an earlier time than the placing.
 */
function tell(audience: StoryAudience, events: StoryEvent[]): Story {
  return { audience, events, text: events.map((e) => `${formatTime(e.at)}: ${e.text}`).join(' ') };
}

function returnEvents(r: StoryReturn, audience: StoryAudience): StoryEvent[] {
  const customer = audience === 'customer';
  const events: StoryEvent[] = [
    {
      at: r.authorizedAt,
      step: 'return_authorized',
      text: customer
        ? `We accepted your return of ${plural(r.units, 'item')} (${r.reasonCode.replace(/_/g, ' ')}).`
        : `Return ${r.returnId} of ${plural(r.units, 'unit')} authorized for ${r.requestedBy}, reason ${r.reasonCode}, resolution ${r.resolution}.`,
    },
  ];
  if (r.firstReceivedAt) {
    events.push({
      at: r.firstReceivedAt,
      step: 'return_received',
      text: customer ? `Your returned items arrived with us.` : `Return ${r.returnId}: first parcel received (${r.receivedUnits} of ${r.units} units received so far).`,
    });
  }
  if (r.inspectedAt) events.push({ at: r.inspectedAt, step: 'return_inspected', text: customer ? 'We checked the returned items.' : `Return ${r.returnId} inspected.` });
  if (r.refundedAt) {
    const money = formatMoney(r.refundMinor ?? 0, r.currency);
    const credit = r.creditMinor ? ` and ${formatMoney(r.creditMinor, r.currency)} as store credit` : '';
    events.push({
      at: r.refundedAt,
      step: 'refunded',
      text: customer ? `We refunded ${money}${credit} to your original payment.` : `Return ${r.returnId} refunded ${money}${credit}.`,
    });
  }
  if (r.replacementOrderId) {
    events.push({
      at: r.closedAt ?? r.inspectedAt ?? r.authorizedAt,
      step: 'exchange',
      text: customer ? `We are sending a replacement as order ${r.replacementOrderId}.` : `Return ${r.returnId}: replacement order ${r.replacementOrderId}.`,
    });
  }
  if (r.closedAt && !r.refundedAt && !r.replacementOrderId) {
    events.push({
      at: r.closedAt,
      step: 'return_closed',
      text: customer ? 'Your return is closed.' : `Return ${r.returnId} closed as ${r.status}${r.statusReason ? `: ${r.statusReason}` : ''}.`,
    });
  }
  return events;
}

/** The story of an order, its hold, its shipments and its returns. */
export function orderStory(order: StoryOrder, audience: StoryAudience): Story {
  const customer = audience === 'customer';
  const money = formatMoney(order.totalMinor, order.currency);
  const events: StoryEvent[] = [
    {
      at: order.createdAt,
      step: 'placed',
      text: customer
        ? `We received your order ${order.orderId} of ${plural(order.units, 'item')} for ${money}.`
        : `Order ${order.orderId} placed on ${order.channel} by customer ${order.customerId}: ${plural(order.units, 'unit')}, ${money}.`,
    },
  ];

  const hold = order.hold;
  if (hold) {
    events.push({
      at: hold.since,
      step: 'held',
      text: customer
        ? 'We paused your order for a routine check before sending it.'
        : `Held for review: ${hold.flags.map((f) => (f.detail ? `${f.rule} (${f.detail})` : f.rule)).join('; ')}${hold.escalated ? '; escalated after waiting' : ''}.`,
    });
    if (hold.decision) {
      const who = hold.audit ? `${hold.audit.actor} (${hold.audit.role})` : hold.decision.actor;
      const approved = hold.decision.decision === 'approve';
      events.push({
        at: hold.decision.at,
        step: approved ? 'hold_approved' : 'hold_rejected',
        text: customer
          ? approved
            ? 'The check is done and your order goes ahead.'
            : 'We could not accept your order after the check; nothing was charged for it.'
          : `Hold ${approved ? 'approved' : 'rejected'} by ${who}: "${hold.decision.reason}".`,
      });
    }
  }

  order.routing.forEach((r, i) => {
    if (!r.split) return;
    const warehouses = [...new Set(order.shipments.map((s) => s.warehouse))];
    events.push({
      at: order.releasedAt ?? hold?.decision?.at ?? order.createdAt,
      step: 'split',
      text: customer
        ? `Your order comes in ${plural(Math.max(2, warehouses.length), 'parcel')}, sent from different places so it reaches you sooner.`
        : `${i > 0 ? `Allocation ${i + 1} split` : 'Split'} over ${warehouses.length ? warehouses.join(', ') : 'several warehouses'}: ${r.reason}.`,
    });
  });
  if (order.backorderedUnits > 0) {
    events.push({
      at: order.releasedAt ?? order.createdAt,
      step: 'backordered',
      text: customer ? `${plural(order.backorderedUnits, 'item')} will follow when back in stock.` : `${plural(order.backorderedUnits, 'unit')} backordered.`,
    });
  }

  const shipments = [...order.shipments].sort((a, b) => (a.shippedAt ?? '~').localeCompare(b.shippedAt ?? '~') || a.shipmentId.localeCompare(b.shipmentId));
  shipments.forEach((s, i) => {
    if (!s.shippedAt) return;
    const parcel = shipments.length > 1 ? `The ${ordinal(i)} parcel` : 'Your parcel';
    const tracking = s.carrier ? ` with ${s.carrier}${s.tracking ? `, tracking ${s.tracking}` : ''}` : '';
    events.push({
      at: s.shippedAt,
      step: 'shipped',
      text: customer ? `${parcel} (${plural(s.units, 'item')}) left us${tracking}.` : `Shipment ${s.shipmentId} from ${s.warehouse} shipped ${plural(s.units, 'unit')}${tracking}.`,
    });
    if (s.deliveredAt) {
      events.push({
        at: s.deliveredAt,
        step: 'delivered',
        text: customer ? `${parcel} was delivered.` : `Shipment ${s.shipmentId} delivered, as the carrier reported.`,
      });
    }
  });

  if (order.cancelledUnits > 0 || ['cancelled', 'rejected'].includes(order.status)) {
    const at = order.closedAt ?? order.createdAt;
    if (order.status !== 'rejected') {
      events.push({
        at,
        step: 'cancelled',
        text: customer
          ? `${order.status === 'cancelled' ? 'Your order was cancelled' : `${plural(order.cancelledUnits, 'item')} of your order were cancelled`}; you are not charged for ${order.status === 'cancelled' ? 'it' : 'them'}.`
          : `${order.status === 'cancelled' ? 'Order cancelled' : `${plural(order.cancelledUnits, 'unit')} cancelled`}${order.statusReason ? `: ${order.statusReason}` : ''}.`,
      });
    }
  }

  for (const r of order.returns) events.push(...returnEvents(r, audience));
  return tell(audience, events);
}

/** The story of one return, from its authorization to its refund or close. */
export function returnStory(r: StoryReturn, audience: StoryAudience): Story {
  const opening: StoryEvent = {
    at: r.authorizedAt,
    step: 'return_requested',
    text: audience === 'customer' ? `You asked to return items from order ${r.orderId}.` : `Return ${r.returnId} against order ${r.orderId}.`,
  };
  return tell(audience, [opening, ...returnEvents(r, audience)]);
}
