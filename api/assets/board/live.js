// A small client of the graphql-transport-ws protocol (the one of the graphql-ws library):
// one socket for every subscription, a keep-alive ping, reconnection with backoff, and on
// each reconnection every subscription resumes after the cursor of the last event it got.
// The server delivers at least once, so events whose cursor was already seen are dropped.

const PROTOCOL = 'graphql-transport-ws';
const PING_EVERY_MS = 20000;
// A socket that stays silent this long after our ping is dead (a laptop that slept, a proxy
// that dropped it); browsers do not tell, so we close it and reconnect.
const PONG_WITHIN_MS = 10000;
const BACKOFF_MIN_MS = 500;
const BACKOFF_MAX_MS = 30000;
// Cursors remembered per subscription for de-duplication; replays are short, so the last
// few hundred are plenty.
const SEEN_MAX = 500;

export class LiveClient {
  // `url`: ws(s)://…/graphql. `token`: the bearer token. `onStatus(status, detail)` hears
  // 'connecting', 'live', 'reconnecting' (detail: delay in ms), 'unauthorized' and 'closed'.
  constructor({ url, token, onStatus }) {
    this.url = url;
    this.token = token;
    this.onStatus = onStatus || (() => {});
    this.subs = new Map(); // operation id → subscription
    this.nextOp = 1;
    this.attempt = 0;
    this.closed = false;
    this.socket = null;
    this.acked = false;
    this.timers = { ping: null, pong: null, retry: null };
    this.connect();
  }

  // Starts a subscription. `field` is the root field whose value each event carries;
  // `onEvent(value)` gets every event once, in order; `onError(errors)` gets errors the
  // client cannot recover from. Returns a function that ends the subscription.
  subscribe({ query, variables = {}, field, onEvent, onError }) {
    const sub = {
      query, variables, field, onEvent,
      onError: onError || (() => {}),
      after: null,
      seen: new Set(),
      opId: null,
    };
    this.start(sub);
    return () => {
      if (sub.opId && this.acked) this.send({ id: sub.opId, type: 'complete' });
      this.subs.delete(sub.opId);
      sub.opId = null;
    };
  }

  close() {
    this.closed = true;
    Object.values(this.timers).forEach(clearTimeout);
    if (this.socket) this.socket.close(1000, 'bye');
    this.onStatus('closed');
  }

  // Internals.

  connect() {
    this.onStatus('connecting');
    const socket = new WebSocket(this.url, PROTOCOL);
    this.socket = socket;
    this.acked = false;
    socket.onopen = () => {
      // The server reads the token from connection_init's payload, as an HTTP header.
      this.send({ type: 'connection_init', payload: { Authorization: `Bearer ${this.token}` } });
    };
    socket.onmessage = (e) => this.receive(e.data);
    socket.onclose = (e) => {
      if (socket !== this.socket) return;
      this.acked = false;
      clearTimeout(this.timers.ping);
      clearTimeout(this.timers.pong);
      if (this.closed) return;
      // 4401/4403: no valid token. Retrying cannot help; the page asks to log in again.
      if (e.code === 4401 || e.code === 4403) {
        this.closed = true;
        this.onStatus('unauthorized');
        return;
      }
      const ceiling = Math.min(BACKOFF_MAX_MS, BACKOFF_MIN_MS * 2 ** this.attempt);
      // Full jitter: after a server restart, clients do not all come back at once.
      const delay = Math.round(ceiling / 2 + (Math.random() * ceiling) / 2);
      this.attempt += 1;
      this.onStatus('reconnecting', delay);
      this.timers.retry = setTimeout(() => this.connect(), delay);
    };
  }

  send(msg) {
    if (this.socket && this.socket.readyState === WebSocket.OPEN) {
      this.socket.send(JSON.stringify(msg));
    }
  }

  // (Re)sends a subscription under a fresh operation id, resuming after its last cursor.
  start(sub) {
    if (sub.opId) this.subs.delete(sub.opId);
    sub.opId = String(this.nextOp++);
    this.subs.set(sub.opId, sub);
    if (!this.acked) return; // sent on connection_ack
    const variables = { ...sub.variables };
    if (sub.after) variables.after = sub.after;
    this.send({ id: sub.opId, type: 'subscribe', payload: { query: sub.query, variables } });
  }

  keepAlive() {
    clearTimeout(this.timers.ping);
    this.timers.ping = setTimeout(() => {
      this.send({ type: 'ping' });
      this.timers.pong = setTimeout(() => {
        if (this.socket) this.socket.close(4000, 'no pong');
      }, PONG_WITHIN_MS);
    }, PING_EVERY_MS);
  }

  receive(text) {
    let msg;
    try {
      msg = JSON.parse(text);
    } catch {
      return;
    }
    switch (msg.type) {
      case 'connection_ack':
        this.acked = true;
        this.attempt = 0;
        this.onStatus('live');
        for (const sub of [...this.subs.values()]) this.start(sub);
        this.keepAlive();
        break;
      case 'ping':
        this.send({ type: 'pong' });
        break;
      case 'pong':
        clearTimeout(this.timers.pong);
        this.keepAlive();
        break;
      case 'next': {
        const sub = this.subs.get(msg.id);
        if (!sub) return;
        const { data, errors } = msg.payload || {};
        if (errors && errors.length) sub.onError(errors);
        const event = data && data[sub.field];
        if (!event) return;
        if (event.cursor) {
          if (sub.seen.has(event.cursor)) return;
          sub.seen.add(event.cursor);
          if (sub.seen.size > SEEN_MAX) sub.seen.delete(sub.seen.values().next().value);
          sub.after = event.cursor;
        }
        sub.onEvent(event);
        break;
      }
      case 'error': {
        const sub = this.subs.get(msg.id);
        if (!sub) return;
        const errors = Array.isArray(msg.payload) ? msg.payload : [msg.payload];
        const ext = (errors[0] && errors[0].extensions) || {};
        if (ext.code === 'SLOW_CONSUMER' && ext.cursor) {
          // We fell behind; the server says where to pick up.
          sub.after = ext.cursor;
          this.start(sub);
        } else if (ext.code === 'CURSOR_EXPIRED') {
          // Too old to replay: follow the live feed; the caller reloads its lists.
          sub.after = null;
          sub.onError(errors);
          this.start(sub);
        } else {
          this.subs.delete(msg.id);
          sub.onError(errors);
        }
        break;
      }
      case 'complete':
        this.subs.delete(msg.id);
        break;
      default:
        break;
    }
  }
}
