// The ops console: reads the API with the signed-in key and sends decisions.
// Every value from the API goes into the page as text (textContent), never as HTML.
'use strict';

const KEY_STORAGE = 'ops-console-api-key';
const REFRESH_EVERY_MS = 5000;
// Which roles may decide which task kinds, and where the decision goes.
const DECISIONS = {
  order_hold: { roles: ['ops'], path: (ref) => `/orders/${encodeURIComponent(ref)}/hold-decision` },
  adjustment_approval: { roles: ['ops', 'finance'], path: (ref) => `/inventory/adjustments/${encodeURIComponent(ref)}/decision` },
};

const $ = (id) => document.getElementById(id);
const state = { role: null, inventory: [], decided: new Set(), drafts: new Map(), timer: null };
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
  tr.append(priority, decisionCell(task));
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
    await api(decision.path(task.reference), { method: 'POST', body: { decision: verb, reason: reasonInput.value } });
    state.decided.add(task.id);
    state.drafts.delete(task.id);
    showMessage(`${task.kind} ${task.reference}: ${verb === 'approve' ? 'approved' : 'rejected'}.`, 'ok');
  } catch (error) {
    showMessage(`Could not ${verb} ${task.kind} ${task.reference}: ${failureText(error)}`, 'error');
  } finally {
    buttons.forEach((b) => (b.disabled = false));
  }
  await refreshAll();
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

async function refreshAll() {
  const results = await Promise.allSettled([loadTasks(), loadOrders(), loadExceptions(), loadInventory()]);
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
  await refreshAll();
  clearInterval(state.timer);
  state.timer = setInterval(() => {
    if (!document.hidden && state.role) void refreshAll();
  }, REFRESH_EVERY_MS);
}

function signOut() {
  sessionStorage.removeItem(KEY_STORAGE);
  clearInterval(state.timer);
  Object.assign(state, { role: null, inventory: [], timer: null });
  state.decided.clear();
  state.drafts.clear();
  for (const id of ['tasks-body', 'orders-body', 'exceptions-body', 'inventory-body']) $(id).replaceChildren();
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
  void refreshAll();
});
$('sku-filter').addEventListener('input', renderInventory);

if (sessionStorage.getItem(KEY_STORAGE)) {
  start().catch((error) => {
    signOut();
    showMessage(`Sign-in failed: ${failureText(error)}`, 'error');
  });
}
