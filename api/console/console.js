// The ops console: reads the API with the signed-in key and sends decisions.
// Every value from the API goes into the page as text (textContent), never as HTML.
'use strict';

const KEY_STORAGE = 'ops-console-api-key';
const REFRESH_EVERY_MS = 5000;
// Which roles may decide which task kinds, and where the decision goes.
const DECISIONS = {
  order_hold: { roles: ['ops'], path: (ref) => `/orders/${encodeURIComponent(ref)}/hold-decision` },
  adjustment_approval: { roles: ['ops', 'finance'], path: (ref) => `/inventory/adjustments/${encodeURIComponent(ref)}/decision` },
  purchase_order_approval: { roles: ['finance', 'buyer'], path: (ref) => `/purchase-orders/${encodeURIComponent(ref)}/approval` },
  refund_approval: { roles: ['finance'], path: (ref) => `/returns/${encodeURIComponent(ref)}/refund-approval` },
  // Units beyond the receipt tolerance: approve takes them in, reject sends them back.
  purchase_order_receipt_excess: {
    roles: ['buyer', 'ops'],
    path: (ref) => `/purchase-orders/${encodeURIComponent(ref)}/receipt-decision`,
    body: (verb, reason, task) => ({ receiptId: task.details.receiptId, decision: verb === 'approve' ? 'accept' : 'reject', reason }),
  },
  supplier_invoice_mismatch: {
    roles: ['finance'],
    path: (ref, task) => `/purchase-orders/${encodeURIComponent(ref)}/invoices/${encodeURIComponent(task.details.invoiceId)}/decision`,
  },
};
// Other task kinds show in the queue with the role they wait for, without buttons.
// KPIs are heavier than the queues: read them every 30 s, on Refresh and after a decision.
const KPIS_EVERY_MS = 30000;
const SERIES = ['orders_shipped', 'on_time', 'fill_rate'];
const SERIES_DAYS = 14;
const AUDIT_ROLES = ['ops', 'finance', 'viewer'];
const KPI_ROLES = ['ops', 'buyer', 'finance', 'viewer'];
const SVG_NS = 'http://www.w3.org/2000/svg';

const $ = (id) => document.getElementById(id);
const state = { role: null, inventory: [], decided: new Set(), drafts: new Map(), timer: null, kpisAt: 0 };
const temporal = { url: document.body.dataset.temporalUiUrl || '', namespace: document.body.dataset.temporalNamespace || 'default' };

class ApiFailure extends Error {
  constructor(status, code, message) {
    super(message);
    this.status = status;
    this.code = code;
  }
}

async function api(path, options = {}) {
  const key = sessionStorage.getItem(KEY_STORAGE);
  const headers = { accept: 'application/json', authorization: `Bearer ${key}` };
  if (options.body !== undefined) headers['content-type'] = 'application/json';
  let response;
  try {
    response = await fetch(path, {
      method: options.method || 'GET',
      headers,
      body: options.body === undefined ? undefined : JSON.stringify(options.body),
      cache: 'no-store',
    });
  } catch {
    throw new ApiFailure(0, 'network', 'the API could not be reached');
  }
  const payload = await response.json().catch(() => null);
  if (!response.ok) {
    const error = payload && payload.error;
    throw new ApiFailure(response.status, (error && error.code) || 'error', (error && error.message) || response.statusText);
  }
  return payload;
}

// ---- small view helpers ----

function showMessage(text, kind) {
  const box = $('message');
  box.textContent = text;
  box.className = `message ${kind}`;
  box.setAttribute('role', kind === 'error' ? 'alert' : 'status');
  box.hidden = false;
}

function clearMessage() {
  $('message').hidden = true;
  $('message').textContent = '';
}

const failureText = (error) => (error instanceof ApiFailure && error.status ? `${error.message} (${error.status} ${error.code})` : String(error.message || error));

function cell(text, className) {
  const td = document.createElement('td');
  td.textContent = text === null || text === undefined ? '' : String(text);
  if (className) td.className = className;
  return td;
}

function age(seconds) {
  if (typeof seconds !== 'number' || !Number.isFinite(seconds)) return '';
  if (seconds < 60) return `${Math.max(0, Math.floor(seconds))}s`;
  if (seconds < 3600) return `${Math.floor(seconds / 60)}m`;
  if (seconds < 86400) return `${Math.floor(seconds / 3600)}h`;
  return `${Math.floor(seconds / 86400)}d`;
}

const secondsSince = (iso) => (Date.now() - new Date(iso).getTime()) / 1000;

function money(minor, currency) {
  try {
    const format = new Intl.NumberFormat(undefined, { style: 'currency', currency });
    return format.format(minor / 10 ** format.resolvedOptions().maximumFractionDigits);
  } catch {
    return `${minor} ${currency || ''}`.trim();
  }
}

/** A link to the Temporal UI, only for http(s) addresses. */
function historyLink(url, label) {
  const td = document.createElement('td');
  let parsed;
  try {
    parsed = new URL(url);
  } catch {
    return td;
  }
  if (parsed.protocol !== 'http:' && parsed.protocol !== 'https:') return td;
  const a = document.createElement('a');
  a.href = parsed.href;
  a.target = '_blank';
  a.rel = 'noopener noreferrer';
  a.textContent = label;
  td.append(a);
  return td;
}

const workflowUrl = (workflowId) =>
  `${temporal.url}/namespaces/${encodeURIComponent(temporal.namespace)}/workflows/${encodeURIComponent(workflowId)}`;

function fillTable(bodyId, emptyId, rows) {
  $(bodyId).replaceChildren(...rows);
  $(emptyId).hidden = rows.length > 0;
}

// ---- sections ----

function taskRow(task) {
  const tr = document.createElement('tr');
  tr.dataset.testid = 'task-row';
  tr.dataset.reference = task.reference;
  tr.dataset.kind = task.kind;
  const escalated = task.priority === 'high' || Boolean(task.escalatedAt);
  if (escalated) tr.className = 'escalated';
  tr.append(cell(task.kind), cell(task.reference, 'mono'), cell(task.title), cell(task.reason), cell(age(task.ageSeconds)));
  const priority = cell(escalated ? `${task.priority} · escalated` : task.priority);
  if (escalated) priority.classList.add('badge-cell');
  // The process waiting on the task (an order, PO, return, adjustment) in the Temporal UI.
  tr.append(priority, task.workflowId ? historyLink(workflowUrl(task.workflowId), 'Temporal UI') : cell(''), decisionCell(task));
  return tr;
}

function decisionCell(task) {
  const td = document.createElement('td');
  const decision = DECISIONS[task.kind];
  if (!decision || !decision.roles.includes(state.role)) {
    td.className = 'muted';
    td.textContent = decision ? `for ${decision.roles.join(' or ')}` : `for ${task.role}`;
    return td;
  }
  const group = document.createElement('div');
  group.className = 'decide';
  const inputId = `reason-${task.id}`;
  const label = document.createElement('label');
  label.htmlFor = inputId;
  label.className = 'visually-hidden';
  label.textContent = `Reason for ${task.kind} ${task.reference}`;
  const reason = document.createElement('input');
  reason.id = inputId;
  reason.type = 'text';
  reason.placeholder = 'reason';
  reason.maxLength = 500;
  reason.dataset.testid = 'decision-reason';
  reason.value = state.drafts.get(task.id) || '';
  reason.addEventListener('input', () => state.drafts.set(task.id, reason.value));
  group.append(label, reason);
  for (const [verb, text] of [
    ['approve', 'Approve'],
    ['reject', 'Reject'],
  ]) {
    const button = document.createElement('button');
    button.type = 'button';
    button.textContent = text;
    button.className = verb;
    button.dataset.testid = verb;
    button.addEventListener('click', () => decide(task, verb, reason, group));
    group.append(button);
  }
  td.append(group);
  return td;
}

async function decide(task, verb, reasonInput, group) {
  const decision = DECISIONS[task.kind];
  const buttons = group.querySelectorAll('button');
  buttons.forEach((b) => (b.disabled = true));
  try {
    const body = decision.body ? decision.body(verb, reasonInput.value, task) : { decision: verb, reason: reasonInput.value };
    await api(decision.path(task.reference, task), { method: 'POST', body });
    state.decided.add(task.id);
    state.drafts.delete(task.id);
    showMessage(`${task.kind} ${task.reference}: ${verb === 'approve' ? 'approved' : 'rejected'}.`, 'ok');
  } catch (error) {
    showMessage(`Could not ${verb} ${task.kind} ${task.reference}: ${failureText(error)}`, 'error');
  } finally {
    buttons.forEach((b) => (b.disabled = false));
  }
  await refreshAll(true);
}

async function loadTasks() {
  const { tasks } = await api('/tasks');
  const open = new Set(tasks.map((t) => t.id));
  // A decided task closes a moment later in its process; keep it out of the queue meanwhile.
  for (const id of state.decided) if (!open.has(id)) state.decided.delete(id);
  const visible = tasks.filter((t) => !state.decided.has(t.id));
  // Re-rendering must not lose what someone is typing.
  const focused = document.activeElement;
  const focusedId = focused && focused.tagName === 'INPUT' && $('tasks-body').contains(focused) ? focused.id : null;
  const caret = focusedId ? focused.selectionStart : null;
  fillTable('tasks-body', 'tasks-empty', visible.map(taskRow));
  $('tasks-count').textContent = `(${visible.length})`;
  if (focusedId && $(focusedId)) {
    $(focusedId).focus();
    $(focusedId).setSelectionRange(caret, caret);
  }
}

function orderRow(order) {
  const tr = document.createElement('tr');
  tr.dataset.testid = 'order-row';
  tr.dataset.orderId = order.orderId;
  const status = cell(order.status);
  status.dataset.testid = 'order-status';
  status.className = `status status-${String(order.status).replace(/[^a-z_]/g, '')}`;
  tr.append(
    cell(order.orderId, 'mono'),
    cell(order.channel),
    status,
    cell(money(order.totalMinor, order.currency), 'num'),
    cell(age(secondsSince(order.createdAt))),
    historyLink(workflowUrl(`order-${order.orderId}`), 'Temporal UI'),
  );
  return tr;
}

async function loadOrders() {
  const { orders } = await api('/orders?limit=20');
  fillTable('orders-body', 'orders-empty', orders.map(orderRow));
}

function exceptionRow(exception) {
  const tr = document.createElement('tr');
  tr.dataset.testid = 'exception-row';
  tr.append(
    cell(exception.kind),
    cell(exception.reference, 'mono'),
    cell(exception.message),
    cell(age(exception.ageSeconds)),
    cell(exception.ownerRole),
    exception.temporalUiUrl ? historyLink(exception.temporalUiUrl, 'Temporal UI') : cell(''),
  );
  return tr;
}

async function loadExceptions() {
  const { exceptions } = await api('/exceptions');
  fillTable('exceptions-body', 'exceptions-empty', exceptions.map(exceptionRow));
  $('exceptions-count').textContent = `(${exceptions.length})`;
}

const BUCKETS = ['available', 'allocated', 'inbound', 'quarantine', 'damaged', 'returnPending', 'inTransit', 'onHand', 'atp'];

function renderInventory() {
  const filter = $('sku-filter').value.trim().toUpperCase();
  const rows = state.inventory
    .filter((place) => !filter || place.sku.toUpperCase().includes(filter))
    .map((place) => {
      const tr = document.createElement('tr');
      tr.dataset.testid = 'inventory-row';
      const buckets = BUCKETS.map((bucket) => {
        const td = cell(place[bucket], bucket === 'atp' ? 'num atp' : 'num');
        td.dataset.bucket = bucket;
        return td;
      });
      tr.append(cell(place.sku, 'mono'), cell(place.warehouse, 'mono'), ...buckets);
      return tr;
    });
  fillTable('inventory-body', 'inventory-empty', rows);
}

async function loadInventory() {
  const { inventory, nextAfter } = await api('/inventory');
  state.inventory = inventory;
  $('inventory-more').hidden = !nextAfter;
  renderInventory();
}

// ---- KPIs ----

const pct = (value) => (value === null || value === undefined ? '–' : `${(value * 100).toFixed(1)}%`);
const fixed = (value, places) => (value === null || value === undefined ? '–' : Number(value).toFixed(places));

function kpiTile(label, value, detail, definition) {
  const wrap = document.createElement('div');
  wrap.className = 'kpi';
  wrap.dataset.testid = 'kpi';
  wrap.dataset.kpi = label;
  const dt = document.createElement('dt');
  dt.textContent = label;
  const dd = document.createElement('dd');
  dd.textContent = value;
  dd.dataset.testid = 'kpi-value';
  if (definition) dd.title = definition;
  const small = document.createElement('span');
  small.className = 'kpi-detail';
  small.textContent = detail;
  dd.append(small);
  wrap.append(dt, dd);
  return wrap;
}

const ofUnits = (ratio, what) => `${ratio.numerator} of ${ratio.denominator} ${what}`;

function renderKpiNumbers(k) {
  $('kpi-numbers').replaceChildren(
    kpiTile('Fill rate', pct(k.fillRate.value), ofUnits(k.fillRate, 'units'), k.fillRate.definition),
    kpiTile('On-time shipment', pct(k.onTimeShipment.value), ofUnits(k.onTimeShipment, 'shipments'), k.onTimeShipment.definition),
    kpiTile('Order cycle time p50', k.orderCycleTime.p50Hours === null ? '–' : `${fixed(k.orderCycleTime.p50Hours, 1)} h`, `${k.orderCycleTime.orders} orders`, k.orderCycleTime.definition),
    kpiTile('Backorder rate', pct(k.backorderRate.value), ofUnits(k.backorderRate, 'open orders'), k.backorderRate.definition),
    kpiTile('Cancellation rate', pct(k.cancellationRate.value), ofUnits(k.cancellationRate, 'orders'), k.cancellationRate.definition),
    kpiTile('Inventory accuracy', pct(k.inventoryAccuracy.value), `${k.inventoryAccuracy.counts} counts`, k.inventoryAccuracy.definition),
    kpiTile('ATP accuracy', pct(k.atpAccuracy.value), ofUnits(k.atpAccuracy, 'lines'), k.atpAccuracy.definition),
    kpiTile('Inventory turns', fixed(k.inventoryTurns.value, 2), `COGS ${money(k.inventoryTurns.cogsMinor, 'USD')}`, k.inventoryTurns.definition),
    kpiTile('Days on hand', k.daysOnHand.value === null ? '–' : fixed(k.daysOnHand.value, 1), `stock ${money(k.daysOnHand.closingValueMinor, 'USD')}`, k.daysOnHand.definition),
  );
  const aged = k.agedStock.buckets.map((bucket) => {
    const tr = document.createElement('tr');
    tr.dataset.testid = 'aged-row';
    tr.append(cell(bucket.label), cell(bucket.qty, 'num'), cell(money(bucket.valueMinor, 'USD'), 'num'));
    return tr;
  });
  $('aged-body').replaceChildren(...aged);
}

function svg(name, attributes) {
  const element = document.createElementNS(SVG_NS, name);
  for (const [key, value] of Object.entries(attributes)) element.setAttribute(key, String(value));
  return element;
}

function svgText(x, y, text, anchor) {
  const label = svg('text', { x, y, class: 'chart-label', 'text-anchor': anchor || 'start' });
  label.textContent = text;
  return label;
}

/** A small line chart: one point a day; a rate with nothing to measure that day is a gap. */
function renderChart(figure, series) {
  const width = 300;
  const height = 96;
  const pad = { left: 36, right: 8, top: 8, bottom: 18 };
  const rate = series.metric !== 'orders_shipped';
  const points = series.points;
  const max = rate ? 1 : Math.max(1, ...points.map((p) => p.value || 0));
  const x = (i) => pad.left + (points.length < 2 ? 0 : (i * (width - pad.left - pad.right)) / (points.length - 1));
  const y = (v) => pad.top + (1 - v / max) * (height - pad.top - pad.bottom);
  const show = (v) => (rate ? pct(v) : String(v));

  const root = svg('svg', { viewBox: `0 0 ${width} ${height}`, role: 'img', 'data-testid': 'chart-svg' });
  const title = svg('title', {});
  title.textContent = `${series.definition}, last ${points.length} days`;
  root.append(title);
  root.append(svg('line', { x1: pad.left, x2: width - pad.right, y1: y(0), y2: y(0), class: 'chart-axis' }));
  root.append(svg('line', { x1: pad.left, x2: width - pad.right, y1: y(max), y2: y(max), class: 'chart-axis' }));
  const axis = (v) => (rate ? `${Math.round(v * 100)}%` : String(v));
  root.append(svgText(pad.left - 4, y(max) + 4, axis(max), 'end'), svgText(pad.left - 4, y(0) + 4, axis(0), 'end'));
  if (points.length) {
    root.append(svgText(x(0), height - 4, points[0].date.slice(5)), svgText(x(points.length - 1), height - 4, points[points.length - 1].date.slice(5), 'end'));
  }
  // Lines join consecutive days that have a value.
  let run = [];
  const flush = () => {
    if (run.length > 1) root.append(svg('polyline', { points: run.join(' '), class: 'chart-line' }));
    run = [];
  };
  points.forEach((p, i) => {
    if (p.value === null) return flush();
    run.push(`${x(i).toFixed(1)},${y(p.value).toFixed(1)}`);
  });
  flush();
  points.forEach((p, i) => {
    if (p.value === null) return;
    const dot = svg('circle', {
      cx: x(i).toFixed(1),
      cy: y(p.value).toFixed(1),
      r: 3,
      class: p.denominator === 0 && !rate ? 'chart-point empty-day' : 'chart-point',
      'data-testid': 'chart-point',
      'data-date': p.date,
      'data-value': p.value,
    });
    const tip = svg('title', {});
    tip.textContent = rate ? `${p.date}: ${pct(p.value)} (${p.numerator} of ${p.denominator})` : `${p.date}: ${p.value}`;
    dot.append(tip);
    root.append(dot);
  });
  figure.querySelector('.chart-plot').replaceChildren(root);
  const today = points[points.length - 1];
  figure.querySelector('.chart-latest').textContent = today ? `(today ${today.value === null ? '–' : show(today.value)})` : '';
}

async function loadKpis(force) {
  // Trends are for people; a system key (a machine) is not given them.
  $('kpis-section').hidden = !KPI_ROLES.includes(state.role);
  if (!KPI_ROLES.includes(state.role)) return;
  if (!force && Date.now() - state.kpisAt < KPIS_EVERY_MS) return;
  state.kpisAt = Date.now();
  const [report, ...series] = await Promise.all([
    api('/kpis'),
    ...SERIES.map((metric) => api(`/kpis/series?metric=${metric}&days=${SERIES_DAYS}`)),
  ]);
  $('kpis-range').textContent = `(last 30 days; charts: last ${SERIES_DAYS} days, UTC)`;
  renderKpiNumbers(report.kpis);
  for (const one of series) {
    const figure = document.querySelector(`figure[data-metric="${one.metric}"]`);
    if (figure) renderChart(figure, one);
  }
}

// ---- audit ----

const compact = (value) => {
  if (value === null || value === undefined) return '';
  const text = JSON.stringify(value);
  return text.length > 160 ? `${text.slice(0, 157)}…` : text;
};

function auditRow(entry) {
  const tr = document.createElement('tr');
  tr.dataset.testid = 'audit-row';
  tr.dataset.subject = entry.subjectId || '';
  tr.append(
    cell(`${age(secondsSince(entry.at))} ago`),
    cell(entry.actor, 'mono'),
    cell(entry.action, 'mono'),
    cell(`${entry.subjectType} ${entry.subjectId || ''}`.trim(), 'mono'),
    cell(compact(entry.before), 'change mono'),
    cell(compact(entry.after), 'change mono'),
    cell(entry.reason),
  );
  return tr;
}

async function loadAudit() {
  const allowed = AUDIT_ROLES.includes(state.role);
  $('audit-section').hidden = !allowed;
  if (!allowed) return;
  const { entries } = await api('/audit?automated=false&limit=20');
  fillTable('audit-body', 'audit-empty', entries.map(auditRow));
}

async function refreshAll(force) {
  const results = await Promise.allSettled([loadTasks(), loadOrders(), loadExceptions(), loadInventory(), loadKpis(force), loadAudit()]);
  const failed = results.find((r) => r.status === 'rejected');
  if (!failed) return;
  if (failed.reason instanceof ApiFailure && failed.reason.status === 401) {
    signOut();
    showMessage(`Signed out: ${failureText(failed.reason)}`, 'error');
    return;
  }
  showMessage(`Could not load the console: ${failureText(failed.reason)}`, 'error');
}

// ---- session ----

function showSignedIn(me) {
  state.role = me.role;
  $('role').textContent = me.role;
  $('actor').textContent = `(${me.actor})`;
  $('session').hidden = false;
  $('workspace').hidden = false;
  $('sign-in-section').hidden = true;
}

async function start() {
  const me = await api('/me');
  showSignedIn(me);
  await refreshAll(true);
  clearInterval(state.timer);
  state.timer = setInterval(() => {
    if (!document.hidden && state.role) void refreshAll();
  }, REFRESH_EVERY_MS);
}

function signOut() {
  sessionStorage.removeItem(KEY_STORAGE);
  clearInterval(state.timer);
  Object.assign(state, { role: null, inventory: [], timer: null, kpisAt: 0 });
  state.decided.clear();
  state.drafts.clear();
  for (const id of ['tasks-body', 'orders-body', 'exceptions-body', 'inventory-body', 'kpi-numbers', 'aged-body', 'audit-body']) $(id).replaceChildren();
  document.querySelectorAll('.chart-plot, .chart-latest').forEach((el) => el.replaceChildren());
  $('session').hidden = true;
  $('workspace').hidden = true;
  $('sign-in-section').hidden = false;
  $('api-key').value = '';
  $('api-key').focus();
}

$('sign-in').addEventListener('submit', async (event) => {
  event.preventDefault();
  const key = $('api-key').value.trim();
  if (!key) return;
  clearMessage();
  sessionStorage.setItem(KEY_STORAGE, key);
  try {
    await start();
    $('api-key').value = '';
  } catch (error) {
    sessionStorage.removeItem(KEY_STORAGE);
    showMessage(`Sign-in failed: ${failureText(error)}`, 'error');
  }
});

$('sign-out').addEventListener('click', () => {
  signOut();
  showMessage('Signed out.', 'ok');
});
$('refresh').addEventListener('click', () => {
  clearMessage();
  void refreshAll(true);
});
$('sku-filter').addEventListener('input', renderInventory);

if (sessionStorage.getItem(KEY_STORAGE)) {
  start().catch((error) => {
    signOut();
    showMessage(`Sign-in failed: ${failureText(error)}`, 'error');
  });
}
