// The pipeline board: log in, pick a segment, see its best accounts and why they score so,
// and follow SQL promotions and your assignments live. Plain DOM code, no framework; the
// GraphQL it sends is all in operations.js.

import * as op from './operations.js';
import { LiveClient } from './live.js';

// sessionStorage: the token lives as long as the tab, and GraphiQL on this origin reads it
// to pre-fill its Authorization header.
const TOKEN_KEY = 'quorum.token';
const USER_KEY = 'quorum.user';
const TOP = 20;
const FEED_MAX = 50;

const $ = (id) => document.getElementById(id);
const session = {
  token: sessionStorage.getItem(TOKEN_KEY),
  user: JSON.parse(sessionStorage.getItem(USER_KEY) || 'null'),
};
let live = null;
const assignments = new Map(); // id → assignment, as last heard

// Builds an element; text goes in as text, never as HTML.
function h(tag, attrs = {}, ...children) {
  const el = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs)) {
    if (v === null || v === undefined || v === false) continue;
    if (k === 'class') el.className = v;
    else if (k.startsWith('on')) el.addEventListener(k.slice(2), v);
    else el.setAttribute(k, v === true ? '' : v);
  }
  for (const c of children.flat(Infinity)) {
    if (c !== null && c !== undefined && c !== false) el.append(c);
  }
  return el;
}

class GraphQLError extends Error {
  constructor(errors) {
    super(errors.map((e) => e.message).join('; '));
    this.code = errors[0] && errors[0].extensions && errors[0].extensions.code;
  }
}

// POST /graphql with the session's token. An expired token sends the user back to the form.
async function gql(query, variables = {}) {
  const headers = { 'content-type': 'application/json', accept: 'application/json' };
  if (session.token) headers.authorization = `Bearer ${session.token}`;
  const res = await fetch('/graphql', {
    method: 'POST',
    headers,
    body: JSON.stringify({ query, variables }),
  });
  const body = await res.json();
  if (body.errors && body.errors.length) {
    const err = new GraphQLError(body.errors);
    if (err.code === 'UNAUTHENTICATED' && session.token) {
      logOut('Your session has ended. Please log in again.');
    }
    throw err;
  }
  return body.data;
}

// Formatting.

const num = (x) => (Math.round(x * 10) / 10).toLocaleString(undefined, { maximumFractionDigits: 1 });
const pct = (x) => `${Math.round(x * 100)} %`;
const time = (iso) => new Date(iso).toLocaleTimeString([], { hour: '2-digit', minute: '2-digit' });
const label = (s) => s.charAt(0) + s.slice(1).toLowerCase().replace(/_/g, ' ');

function scoreBar(value, cls = '') {
  const fill = h('span', { class: 'fill' });
  // The width goes through the CSSOM: the page's CSP allows no inline style attributes.
  fill.style.width = `${Math.max(0, Math.min(100, value))}%`;
  return h('span', { class: `bar ${cls}`, 'aria-hidden': 'true' }, fill);
}

// Session.

function showLoggedIn() {
  $('login').hidden = true;
  $('board').hidden = false;
  $('logout').hidden = false;
  $('whoami').hidden = false;
  $('whoami').textContent = `${session.user.name || session.user.email} · ${label(session.user.role)}`;
}

function logOut(message = '') {
  if (live) live.close();
  live = null;
  session.token = null;
  session.user = null;
  sessionStorage.removeItem(TOKEN_KEY);
  sessionStorage.removeItem(USER_KEY);
  assignments.clear();
  $('assignments').replaceChildren();
  $('promotions').replaceChildren();
  $('accounts').replaceChildren();
  $('board').hidden = true;
  $('logout').hidden = true;
  $('whoami').hidden = true;
  $('login').hidden = false;
  $('login-error').textContent = message;
  $('email').focus();
}

async function logIn(event) {
  event.preventDefault();
  const form = event.target;
  const button = form.querySelector('button[type=submit]');
  button.disabled = true;
  $('login-error').textContent = '';
  try {
    const data = await gql(op.LOGIN, { email: form.email.value, password: form.password.value });
    session.token = data.login.token;
    session.user = data.login.user;
    sessionStorage.setItem(TOKEN_KEY, session.token);
    sessionStorage.setItem(USER_KEY, JSON.stringify(session.user));
    form.password.value = '';
    start();
    // The form is gone; keyboard and screen-reader users land on the board.
    $('accounts-title').focus();
  } catch (err) {
    $('login-error').textContent =
      err.code === 'UNAUTHENTICATED' ? 'Wrong e-mail or password.' : `Could not log in: ${err.message}`;
  } finally {
    button.disabled = false;
  }
}

// Accounts.

let segmentsRequest = 0;

async function loadSegments() {
  const request = ++segmentsRequest;
  const data = await gql(op.SEGMENTS);
  if (request !== segmentsRequest) return; // a later answer draws instead
  const select = $('segment');
  const chosen = select.value;
  select.replaceChildren(
    h('option', { value: '' }, 'All accounts'),
    ...data.segments.map((s) => h('option', { value: s.id }, `${s.name} (${s.accountCount})`)),
  );
  select.value = data.segments.some((s) => s.id === chosen) ? chosen : '';
}

function breakdown(score) {
  const rows = score.breakdown.map((c) =>
    h('tr', {},
      h('td', {}, label(c.component)),
      h('td', {}, c.source),
      h('td', { class: c.points < 0 ? 'num neg' : 'num' }, num(c.points)),
      h('td', {}, c.detail)));
  return h('details', { class: 'why' },
    h('summary', {}, 'Why this score'),
    h('dl', { class: 'parts' },
      [['Fit', score.fit], ['Engagement', score.engagement], ['Intent', score.intent]].map(([k, v]) => [
        h('dt', {}, k), h('dd', {}, scoreBar(v, 'small'), ` ${num(v)}`)]),
      h('dt', {}, 'Committee coverage'), h('dd', {}, pct(score.committeeCoverage))),
    rows.length
      ? h('table', {},
        h('caption', {}, `Contributions under model v${score.modelVersion}, as of ${new Date(score.computedAt).toLocaleString()}`),
        h('thead', {}, h('tr', {}, ['Component', 'Source', 'Points', 'Detail'].map((t) => h('th', { scope: 'col' }, t)))),
        h('tbody', {}, rows))
      : h('p', {}, 'Not scored yet.'));
}

let accountsRequest = 0;

async function loadAccounts() {
  const status = $('accounts-status');
  status.textContent = 'Loading…';
  // Only the latest request may draw: an earlier one (another segment) can answer later.
  const request = ++accountsRequest;
  try {
    const data = await gql(op.TOP_ACCOUNTS, { segmentId: $('segment').value || null, first: TOP });
    if (request !== accountsRequest) return;
    const { nodes, totalCount } = data.accounts;
    $('accounts').replaceChildren(...nodes.map((a, i) =>
      h('li', { class: 'account', 'data-account-id': a.id },
        h('div', { class: 'row' },
          h('span', { class: 'rank' }, String(i + 1)),
          h('div', { class: 'name' }, h('strong', {}, a.name), ' ', h('span', { class: 'muted' }, a.domain)),
          h('span', { class: `stage stage-${a.stage}` }, a.stage),
          h('div', { class: 'score' }, scoreBar(a.score.total), h('span', { class: 'num' }, num(a.score.total))),
          h('span', { class: 'muted owner' }, a.owner ? a.owner.name : '—')),
        breakdown(a.score))));
    status.textContent = totalCount
      ? `Top ${nodes.length} of ${totalCount} by score.`
      : 'No accounts here yet.';
  } catch (err) {
    if (request === accountsRequest) status.textContent = `Could not load accounts: ${err.message}`;
  }
}

// Assignments.

const CHANNELS = ['call', 'email', 'linkedin', 'meeting'];

async function act(button, run) {
  button.disabled = true;
  try {
    const a = await run();
    assignments.set(a.id, a);
    renderAssignments();
    const again = document.querySelector(`[data-assignment-id="${a.id}"] .status`);
    if (again) again.focus();
  } catch (err) {
    button.disabled = false;
    $('assignments-status').textContent = `Could not update the assignment: ${err.message}`;
  }
}

function assignmentItem(a) {
  const mine = a.rep && session.user && a.rep.id === session.user.id;
  const canAccept = mine && (a.status === 'PENDING' || a.status === 'SLA_BREACHED');
  const canTouch = mine && !a.firstTouchAt && ['PENDING', 'ACCEPTED', 'SLA_BREACHED'].includes(a.status);
  const channelId = `channel-${a.id}`;
  const account = a.account || { name: 'Unknown account', domain: '' };
  return h('li', { class: 'assignment', 'data-assignment-id': a.id, 'data-status': a.status },
    h('div', { class: 'row' },
      h('strong', {}, account.name),
      h('span', { class: `status status-${a.status}`, tabindex: '-1' }, label(a.status))),
    h('p', { class: 'muted' },
      [account.domain, account.tier ? `tier ${account.tier}` : null,
        a.rep && !mine ? `rep ${a.rep.name}` : null,
        a.firstTouchAt
          ? `first touch ${time(a.firstTouchAt)} (${a.firstTouchChannel})`
          : `first touch due ${time(a.dueAt)}`].filter(Boolean).join(' · ')),
    canAccept || canTouch
      ? h('div', { class: 'actions' },
        canAccept && h('button', {
          type: 'button', 'data-action': 'accept',
          onclick: (e) => act(e.currentTarget, async () =>
            (await gql(op.ACCEPT_ASSIGNMENT, { id: a.id })).acceptAssignment),
        }, 'Accept'),
        canTouch && [
          h('label', { for: channelId }, 'Channel'),
          h('select', { id: channelId }, CHANNELS.map((c) => h('option', { value: c }, c))),
          h('button', {
            type: 'button', 'data-action': 'first-touch',
            onclick: (e) => act(e.currentTarget, async () =>
              (await gql(op.RECORD_FIRST_TOUCH, { assignmentId: a.id, channel: $(channelId).value })).recordFirstTouch),
          }, 'Record first touch'),
        ])
      : null);
}

// Redraws only the items whose assignment changed, so that an event about one assignment
// does not reset the channel a rep is picking on another, or move their focus.
function renderAssignments() {
  const list = [...assignments.values()].sort((x, y) => y.assignedAt.localeCompare(x.assignedAt));
  const box = $('assignments');
  const shown = new Map([...box.children].map((li) => [li.dataset.assignmentId, li]));
  let previous = null;
  for (const a of list) {
    const signature = JSON.stringify(a);
    let li = shown.get(a.id);
    shown.delete(a.id);
    if (!li || li.dataset.signature !== signature) {
      const fresh = assignmentItem(a);
      fresh.dataset.signature = signature;
      if (li) li.replaceWith(fresh);
      li = fresh;
    }
    const slot = previous ? previous.nextElementSibling : box.firstElementChild;
    if (slot !== li) box.insertBefore(li, slot);
    previous = li;
  }
  for (const gone of shown.values()) gone.remove();
  $('assignments-empty').hidden = list.length > 0;
}

async function loadAssignments() {
  try {
    const data = await gql(op.OPEN_ASSIGNMENTS, { first: 50 });
    for (const a of data.assignments.nodes) {
      // An event may already have brought a newer state of it.
      if (!assignments.has(a.id)) assignments.set(a.id, a);
    }
    renderAssignments();
  } catch (err) {
    $('assignments-status').textContent =
      err.code === 'FORBIDDEN' ? 'Your role has no assignments.' : `Could not load assignments: ${err.message}`;
  }
}

// Live feeds.

function feedItem(p) {
  const who = p.assignment && p.assignment.rep ? `→ ${p.assignment.rep.name}` : '→ unassigned queue';
  return h('li', { 'data-cursor': p.cursor },
    h('time', { datetime: p.at }, time(p.at)), ' ',
    h('strong', {}, p.account.name), ` became an SQL at ${num(p.score.total)} `, h('span', { class: 'muted' }, who));
}

let reloadTimer = null;
function reloadAccountsSoon() {
  // A burst of promotions (an import) reloads the list once. Segment sizes may change too.
  clearTimeout(reloadTimer);
  reloadTimer = setTimeout(() => {
    loadSegments().catch(() => {});
    loadAccounts();
  }, 1000);
}

const STATUS_TEXT = {
  connecting: 'connecting…',
  live: 'live',
  reconnecting: 'reconnecting…',
  unauthorized: 'signed out',
  closed: 'off',
};

function startLive() {
  const url = `${location.protocol === 'https:' ? 'wss:' : 'ws:'}//${location.host}/graphql`;
  live = new LiveClient({
    url,
    token: session.token,
    onStatus: (status) => {
      const el = $('live-status');
      el.textContent = STATUS_TEXT[status] || status;
      el.dataset.status = status;
      if (status === 'unauthorized') logOut('Your session has ended. Please log in again.');
    },
  });
  live.subscribe({
    query: op.SQL_PROMOTIONS,
    field: 'sqlPromotions',
    onEvent: (p) => {
      const feed = $('promotions');
      feed.prepend(feedItem(p));
      while (feed.children.length > FEED_MAX) feed.lastElementChild.remove();
      $('promotions-empty').hidden = true;
      reloadAccountsSoon();
    },
    onError: (errors) => {
      $('promotions-status').textContent = errors.map((e) => e.message).join('; ');
    },
  });
  live.subscribe({
    query: op.ASSIGNMENT_UPDATES,
    field: 'assignmentUpdates',
    onEvent: (e) => {
      assignments.set(e.assignment.id, e.assignment);
      renderAssignments();
      if (e.kind === 'ASSIGNED') {
        $('assignments-status').textContent = `New assignment: ${e.assignment.account ? e.assignment.account.name : 'an account'}.`;
      }
    },
    onError: (errors) => {
      const code = errors[0] && errors[0].extensions && errors[0].extensions.code;
      $('assignments-status').textContent =
        code === 'FORBIDDEN' ? 'Your role has no assignment feed.' : errors.map((e) => e.message).join('; ');
      if (code === 'CURSOR_EXPIRED') loadAssignments();
    },
  });
}

// Start.

async function start() {
  showLoggedIn();
  startLive();
  const segments = loadSegments().catch((err) => {
    // The board still works on all accounts; the picker says why it is off.
    $('segment').disabled = true;
    $('segment').title = `Segments are unavailable: ${err.message}`;
  });
  await Promise.all([segments, loadAssignments()]);
  await loadAccounts();
}

async function resume() {
  try {
    session.user = (await gql(op.ME)).me;
    sessionStorage.setItem(USER_KEY, JSON.stringify(session.user));
    start();
  } catch (err) {
    if (session.token) logOut(err.code === 'UNAUTHENTICATED' ? '' : `Could not reach the server: ${err.message}`);
  }
}

// GraphiQL is linked only where the server offers it (QUORUM_GRAPHIQL).
fetch('/graphql', { headers: { accept: 'text/html' } })
  .then((r) => { $('graphiql-link').hidden = !r.ok; })
  .catch(() => {});

$('login-form').addEventListener('submit', logIn);
$('logout').addEventListener('click', () => logOut());
$('segment').addEventListener('change', loadAccounts);
if (session.token) resume();
else logOut();
