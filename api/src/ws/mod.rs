//! GraphQL over WebSocket on `/graphql`: `graphql-transport-ws` and the legacy `graphql-ws`
//! (subscriptions-transport-ws), written against the specs so that every protocol fault gets
//! its own close code (async-graphql's built-in handler answers most of them with 1002).

use std::collections::HashMap;
use std::sync::atomic::Ordering;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use actix_web::http::header::{self, HeaderValue};
use actix_web::{HttpRequest, HttpResponse, web};
use actix_ws::{AggregatedMessage, CloseCode, CloseReason, Session};
use async_graphql::Request;
use chrono::{DateTime, Utc};
use futures_util::StreamExt as _;
use serde_json::{Value, json};
use tokio::sync::mpsc;
use tokio::task::JoinHandle;

use crate::auth::{Caller, Viewer};
use crate::graphql::QuorumSchema;
use crate::state::AppState;

mod runs;

pub use runs::{RunLink, Runs};

/// Frames a connection may have queued for its socket before its subscriptions wait (and,
/// past their run's buffer, are ended as slow; see `runs::Member`).
const OUTBOX_FRAMES: usize = 16;

/// Public (hidden) for the fuzz targets (`fuzz/`), like [`decode`].
#[doc(hidden)]
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub enum Protocol {
    /// `graphql-transport-ws` (graphql-ws library, Apollo, urql, Relay).
    TransportWs,
    /// `graphql-ws`: the legacy subscriptions-transport-ws protocol.
    Legacy,
}

impl Protocol {
    fn name(self) -> &'static str {
        match self {
            Self::TransportWs => "graphql-transport-ws",
            Self::Legacy => "graphql-ws",
        }
    }

    /// The first protocol the client offers that we speak; none offered means the modern one.
    fn negotiate(req: &HttpRequest) -> Option<Self> {
        let Some(offered) = req.headers().get(header::SEC_WEBSOCKET_PROTOCOL) else {
            return Some(Self::TransportWs);
        };
        offered
            .to_str()
            .ok()?
            .split(',')
            .map(str::trim)
            .find_map(|p| match p {
                "graphql-transport-ws" => Some(Self::TransportWs),
                "graphql-ws" => Some(Self::Legacy),
                _ => None,
            })
    }

    fn data(self) -> &'static str {
        match self {
            Self::TransportWs => "next",
            Self::Legacy => "data",
        }
    }
}

/// Open subscriptions per token on this instance, so one leaked token cannot hold thousands.
#[derive(Default)]
pub struct TokenLimits {
    open: Mutex<HashMap<String, usize>>,
}

struct Slot {
    limits: Arc<TokenLimits>,
    token: String,
}

impl TokenLimits {
    fn take(self: &Arc<Self>, token: &str, max: usize) -> Option<Slot> {
        let mut open = self
            .open
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        let n = open.entry(token.to_owned()).or_default();
        if *n >= max {
            return None;
        }
        *n += 1;
        Some(Slot {
            limits: self.clone(),
            token: token.to_owned(),
        })
    }
}

impl Drop for Slot {
    fn drop(&mut self) {
        let mut open = self
            .limits
            .open
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        if let Some(n) = open.get_mut(&self.token) {
            *n = n.saturating_sub(1);
            if *n == 0 {
                open.remove(&self.token);
            }
        }
    }
}

/// `GET /graphql` with `Upgrade: websocket`.
pub async fn graphql_ws(
    req: HttpRequest,
    body: web::Payload,
    schema: web::Data<QuorumSchema>,
    state: web::Data<AppState>,
) -> actix_web::Result<HttpResponse> {
    let Some(protocol) = Protocol::negotiate(&req) else {
        return Ok(HttpResponse::BadRequest()
            .body("offer the graphql-transport-ws or graphql-ws subprotocol"));
    };
    let header_token = bearer(
        req.headers()
            .get(header::AUTHORIZATION)
            .and_then(|v| v.to_str().ok()),
    );
    let (mut res, session, stream) = actix_ws::handle(&req, body)?;
    res.headers_mut().insert(
        header::SEC_WEBSOCKET_PROTOCOL,
        HeaderValue::from_static(protocol.name()),
    );
    let max = state.config.ws_max_message_bytes;
    let stream = stream
        .max_frame_size(max)
        .aggregate_continuations()
        .max_continuation_size(max);
    let (out_tx, out_rx) = mpsc::channel(OUTBOX_FRAMES);
    let conn = Connection {
        protocol,
        schema: schema.into_inner(),
        state: state.into_inner(),
        header_token,
        viewer: None,
        ops: HashMap::new(),
        serial: 0,
        out_tx,
    };
    actix_web::rt::spawn(conn.run(session, stream, out_rx));
    Ok(res)
}

/// The token of an `Authorization: Bearer …` value.
#[doc(hidden)]
pub fn bearer(value: Option<&str>) -> Option<String> {
    let (scheme, token) = value?.trim().split_once(' ')?;
    scheme
        .eq_ignore_ascii_case("bearer")
        .then(|| token.trim().to_owned())
}

/// The token a `connection_init` payload carries, if any.
#[doc(hidden)]
pub fn init_token(payload: Option<&Value>) -> Option<String> {
    let p = payload?.as_object()?;
    for key in ["Authorization", "authorization"] {
        if let Some(v) = p.get(key).and_then(Value::as_str) {
            return bearer(Some(v)).or_else(|| Some(v.trim().to_owned()));
        }
    }
    p.get("token")
        .and_then(Value::as_str)
        .map(|t| t.trim().trim_start_matches("Bearer ").to_owned())
}

/// A running operation. Dropping it stops the task and frees the token's slot at once, so
/// that a client that completes one subscription may start another right away.
struct Op {
    /// Tells this run of an id from an earlier one (the legacy protocol reuses ids).
    serial: u64,
    task: JoinHandle<()>,
    _slot: Slot,
}

impl Drop for Op {
    fn drop(&mut self) {
        self.task.abort();
    }
}

enum Out {
    Frame {
        text: String,
        event: bool,
    },
    /// The operation's stream ended; forget its id (if it is still that run's).
    Done(String, u64),
}

struct Authed {
    viewer: Viewer,
    token: String,
    until: DateTime<Utc>,
}

struct Connection {
    protocol: Protocol,
    schema: Arc<QuorumSchema>,
    state: Arc<AppState>,
    header_token: Option<String>,
    viewer: Option<Authed>,
    ops: HashMap<String, Op>,
    serial: u64,
    out_tx: mpsc::Sender<Out>,
}

/// Why the connection ends, and with which close code.
#[doc(hidden)]
#[derive(Debug, PartialEq, Eq)]
pub struct Close(pub u16, pub &'static str);

/// A client message, decoded: what `Connection::handle` acts on.
#[doc(hidden)]
#[derive(Debug, PartialEq)]
pub enum ClientMessage {
    Init(Option<Value>),
    Ping,
    Pong,
    /// `subscribe` (`start` in the legacy protocol), under a non-empty id.
    Subscribe {
        id: String,
        payload: Option<Value>,
    },
    /// `complete` (`stop` in the legacy protocol).
    Complete(String),
    /// The legacy `connection_terminate`.
    Terminate,
}

/// One text frame as a message of `protocol`, or the close its fault calls for. No connection
/// state: public (hidden) so that the fuzz targets (`fuzz/`) can feed it hostile frames.
#[doc(hidden)]
pub fn decode(protocol: Protocol, text: &str) -> Result<ClientMessage, Close> {
    let Ok(mut msg) = serde_json::from_str::<Value>(text) else {
        return Err(Close(4400, "Invalid message: not JSON"));
    };
    let payload = msg.get_mut("payload").map(Value::take);
    let Some(kind) = msg.get("type").and_then(Value::as_str) else {
        return Err(Close(4400, "Invalid message: no type"));
    };
    let id = msg.get("id").and_then(Value::as_str);
    match (protocol, kind) {
        (_, "connection_init") => Ok(ClientMessage::Init(payload)),
        (Protocol::TransportWs, "ping") => Ok(ClientMessage::Ping),
        (Protocol::TransportWs, "pong") => Ok(ClientMessage::Pong),
        (Protocol::TransportWs, "subscribe") | (Protocol::Legacy, "start") => {
            match id.filter(|id| !id.is_empty()) {
                Some(id) => Ok(ClientMessage::Subscribe {
                    id: id.to_owned(),
                    payload,
                }),
                None => Err(Close(4400, "Invalid message: no id")),
            }
        }
        (Protocol::TransportWs, "complete") | (Protocol::Legacy, "stop") => match id {
            Some(id) => Ok(ClientMessage::Complete(id.to_owned())),
            None => Err(Close(4400, "Invalid message: no id")),
        },
        (Protocol::Legacy, "connection_terminate") => Ok(ClientMessage::Terminate),
        _ => Err(Close(4400, "Invalid message: unknown type")),
    }
}

impl Close {
    fn reason(&self) -> CloseReason {
        CloseReason {
            code: CloseCode::Other(self.0),
            description: Some(self.1.to_owned()),
        }
    }
}

impl Connection {
    async fn run(
        mut self,
        mut session: Session,
        mut stream: actix_ws::AggregatedMessageStream,
        mut out_rx: mpsc::Receiver<Out>,
    ) {
        let metrics = self.state.metrics.clone();
        metrics.ws_connections.fetch_add(1, Ordering::Relaxed);
        let config = self.state.config.clone();
        let mut stop = self.state.shutdown.clone();
        let init_deadline =
            tokio::time::Instant::now() + Duration::from_millis(config.ws_init_timeout_ms);
        let keepalive = Duration::from_secs(config.ws_keepalive_secs.max(1));
        let mut ping = tokio::time::interval_at(tokio::time::Instant::now() + keepalive, keepalive);
        let mut last_heard = tokio::time::Instant::now();

        let close = loop {
            let expiry = match &self.viewer {
                None => init_deadline,
                Some(a) => {
                    let left = (a.until - Utc::now()).to_std().unwrap_or_default();
                    tokio::time::Instant::now() + left
                }
            };
            tokio::select! {
                msg = stream.next() => {
                    last_heard = tokio::time::Instant::now();
                    let step = match msg {
                        None => break None,
                        Some(Err(actix_ws::ProtocolError::Overflow)) => {
                            break Some(Close(1009, "message too big"))
                        }
                        Some(Err(_)) => break Some(Close(1002, "websocket protocol error")),
                        Some(Ok(AggregatedMessage::Close(_))) => break Some(Close(1000, "bye")),
                        Some(Ok(AggregatedMessage::Ping(p))) => {
                            if session.pong(&p).await.is_err() {
                                break None;
                            }
                            continue;
                        }
                        Some(Ok(AggregatedMessage::Pong(_))) => continue,
                        Some(Ok(AggregatedMessage::Binary(_))) => {
                            break Some(Close(4400, "binary messages are not part of the protocol"))
                        }
                        // Boxed: its future is large and only lives while a message is handled; inline,
                        // every idle connection would carry its size.
                        Some(Ok(AggregatedMessage::Text(text))) => Box::pin(self.handle(&text, &mut session)).await,
                    };
                    if let Err(close) = step {
                        break close;
                    }
                }
                Some(out) = out_rx.recv() => match out {
                    Out::Frame { text, event } => {
                        if session.text(text).await.is_err() {
                            break None;
                        }
                        if event {
                            metrics.events_delivered.fetch_add(1, Ordering::Relaxed);
                        }
                    }
                    Out::Done(id, serial) => {
                        if self.ops.get(&id).is_some_and(|op| op.serial == serial) {
                            self.ops.remove(&id);
                        }
                    }
                },
                _ = tokio::time::sleep_until(expiry) => {
                    if self.viewer.is_none() {
                        break Some(Close(4408, "Connection initialisation timeout"));
                    }
                    Box::pin(self.end_all("the token expired", &mut session)).await;
                    break Some(Close(4401, "Unauthorized: the token expired"));
                }
                _ = ping.tick() => {
                    if last_heard.elapsed() > keepalive * 3 {
                        break Some(Close(1001, "idle: no answer to pings"));
                    }
                    if session.ping(b"").await.is_err() {
                        break None;
                    }
                    if self.protocol == Protocol::Legacy
                        && self.viewer.is_some()
                        && session.text(json!({"type": "ka"}).to_string()).await.is_err()
                    {
                        break None;
                    }
                }
                _ = stop.changed() => {
                    // Deliver what is already queued, then say goodbye properly.
                    self.ops.clear();
                    while let Ok(out) = out_rx.try_recv() {
                        if let Out::Frame { text, .. } = out
                            && session.text(text).await.is_err()
                        {
                            break;
                        }
                    }
                    break Some(Close(1001, "server shutting down"));
                }
            }
        };
        self.ops.clear();
        if let Some(c) = close {
            let _ = session.close(Some(c.reason())).await;
        }
        metrics.ws_connections.fetch_sub(1, Ordering::Relaxed);
    }

    /// One client message. `Err` closes the connection (with a code, or silently).
    async fn handle(&mut self, text: &str, session: &mut Session) -> Result<(), Option<Close>> {
        match decode(self.protocol, text).map_err(Some)? {
            ClientMessage::Init(payload) => self.init(payload.as_ref(), session).await,
            ClientMessage::Ping => {
                let pong = json!({"type": "pong"}).to_string();
                session.text(pong).await.map_err(|_| None)
            }
            ClientMessage::Pong => Ok(()),
            ClientMessage::Subscribe { id, payload } => {
                if self.viewer.is_none() {
                    return Err(Some(Close(4401, "Unauthorized")));
                }
                if self.ops.contains_key(&id) {
                    return match self.protocol {
                        Protocol::TransportWs => {
                            Err(Some(Close(4409, "Subscriber for this id already exists")))
                        }
                        // The legacy protocol restarts an operation under a reused id.
                        Protocol::Legacy => {
                            self.ops.remove(&id);
                            self.start(&id, payload, session).await
                        }
                    };
                }
                self.start(&id, payload, session).await
            }
            ClientMessage::Complete(id) => {
                // An id we do not know (already finished) is fine: the client raced us.
                self.ops.remove(&id);
                Ok(())
            }
            ClientMessage::Terminate => Err(Some(Close(1000, "terminated"))),
        }
    }

    async fn init(
        &mut self,
        payload: Option<&Value>,
        session: &mut Session,
    ) -> Result<(), Option<Close>> {
        if self.viewer.is_some() {
            return Err(Some(Close(4429, "Too many initialisation requests")));
        }
        let token = init_token(payload).or_else(|| self.header_token.clone());
        let verified = match token {
            None => Err(Close(4401, "Unauthorized: no token")),
            Some(token) => match self.state.keys.verify_until(&token) {
                Ok((viewer, until)) => Ok((viewer, until, token)),
                Err(_) => Err(Close(4403, "Forbidden: invalid token")),
            },
        };
        let (viewer, until, token) = match verified {
            Ok(v) => v,
            Err(close) => {
                if self.protocol == Protocol::Legacy {
                    let msg = json!({"type": "connection_error", "payload": {"message": close.1}});
                    let _ = session.text(msg.to_string()).await;
                }
                return Err(Some(close));
            }
        };
        self.viewer = Some(Authed {
            viewer,
            token,
            until,
        });
        let ack = json!({"type": "connection_ack"}).to_string();
        session.text(ack).await.map_err(|_| None)?;
        if self.protocol == Protocol::Legacy {
            let ka = json!({"type": "ka"}).to_string();
            session.text(ka).await.map_err(|_| None)?;
        }
        Ok(())
    }

    /// Starts an operation in its own task; its frames go through the connection's queue.
    async fn start(
        &mut self,
        id: &str,
        payload: Option<Value>,
        session: &mut Session,
    ) -> Result<(), Option<Close>> {
        let Some(authed) = &self.viewer else {
            return Err(Some(Close(4401, "Unauthorized")));
        };
        let request: Request = match payload.map(serde_json::from_value) {
            Some(Ok(r)) => r,
            _ => {
                return match self.protocol {
                    Protocol::TransportWs => Err(Some(Close(4400, "Invalid message: bad payload"))),
                    Protocol::Legacy => {
                        let err = error_frame(id, "BAD_REQUEST", "not a GraphQL request");
                        session.text(err).await.map_err(|_| None)
                    }
                };
            }
        };
        let config = &self.state.config;
        let Some(slot) = self
            .state
            .token_limits
            .take(&authed.token, config.max_subscriptions_per_token)
        else {
            let err = error_frame(
                id,
                "TOO_MANY_SUBSCRIPTIONS",
                "this token holds as many subscriptions as it may",
            );
            return session.text(err).await.map_err(|_| None);
        };
        let key = runs::Key::of(authed.viewer, &request);
        let viewer = authed.viewer;
        let state = &self.state;
        let member = state.runs.join(key, self.schema.clone(), |link| {
            crate::http::prepare(request, Caller::Viewer(viewer), state, &state.live_db).data(link)
        });
        if member.joined {
            // It is on the live feed already: what `open_live` counts for a run of its own.
            state
                .metrics
                .subscriptions_listening
                .fetch_add(1, Ordering::Relaxed);
        }
        self.serial += 1;
        let task = tokio::spawn(relay_frames(
            member,
            Target {
                protocol: self.protocol,
                id: id.to_owned(),
                id_json: Value::from(id).to_string(),
                serial: self.serial,
                out: self.out_tx.clone(),
                metrics: state.metrics.clone(),
            },
        ));
        self.ops.insert(
            id.to_owned(),
            Op {
                serial: self.serial,
                task,
                _slot: slot,
            },
        );
        Ok(())
    }

    /// Tells every open operation why it ends.
    async fn end_all(&mut self, message: &str, session: &mut Session) {
        for (id, op) in self.ops.drain() {
            drop(op);
            let err = error_frame(&id, "UNAUTHENTICATED", message);
            let _ = session.text(err).await;
        }
    }
}

/// Where a member's frames go: its connection's queue, under its operation id.
struct Target {
    protocol: Protocol,
    id: String,
    /// `id` as a JSON string, escaped once for every frame.
    id_json: String,
    serial: u64,
    out: mpsc::Sender<Out>,
    metrics: Arc<crate::metrics::Metrics>,
}

impl Target {
    async fn send(&self, text: String, event: bool) -> bool {
        self.out.send(Out::Frame { text, event }).await.is_ok()
    }

    /// `{"type": …, "id": …, "payload": …}` around a payload serialised once for the run.
    fn wrap(&self, kind: &str, payload: &str) -> String {
        let id = &self.id_json;
        format!(r#"{{"type":"{kind}","id":{id},"payload":{payload}}}"#)
    }
}

/// One operation's frames, from its run to its connection.
async fn relay_frames(mut member: runs::Member, to: Target) {
    to.metrics.subscriptions.fetch_add(1, Ordering::Relaxed);
    let _gauge = Gauge(to.metrics.clone());
    loop {
        let message = match member.next().await {
            runs::Next::Message(m) => m,
            // Told like a slow run is (a result with the error, then `complete`), with the
            // cursor of the last event this socket was handed.
            runs::Next::Behind(cursor) => {
                let e = crate::error::AppError::SlowConsumer {
                    cursor: cursor.map(crate::bus::encode_cursor).unwrap_or_default(),
                };
                let extended = async_graphql::ErrorExtensions::extend(&e);
                let mut error = async_graphql::ServerError::new(extended.message, None);
                error.extensions = extended.extensions;
                let payload = json!({"data": null, "errors": [error]}).to_string();
                if !to.send(to.wrap(to.protocol.data(), &payload), false).await {
                    return;
                }
                break;
            }
        };
        let frame = match &*message {
            runs::Message::End => break,
            runs::Message::Frame(f) => f,
        };
        if let (Some(errors), Protocol::TransportWs) = (&frame.refused, to.protocol) {
            let _ = to.send(to.wrap("error", errors), false).await;
            let _ = to.out.send(Out::Done(to.id.clone(), to.serial)).await;
            return;
        }
        let text = to.wrap(to.protocol.data(), &frame.payload);
        if !to.send(text, frame.refused.is_none()).await {
            return;
        }
        member.passed(frame.seq);
        if let Some(at) = frame.dispatched {
            to.metrics.delivery(crate::metrics::Stage::Handed, at);
        }
    }
    let done = json!({"type": "complete", "id": to.id}).to_string();
    let _ = to.send(done, false).await;
    let _ = to.out.send(Out::Done(to.id.clone(), to.serial)).await;
}

/// Keeps the open-subscriptions gauge right however the task ends (aborts included).
struct Gauge(Arc<crate::metrics::Metrics>);

impl Drop for Gauge {
    fn drop(&mut self) {
        self.0.subscriptions.fetch_sub(1, Ordering::Relaxed);
    }
}

/// An operation's `error` message; both protocols carry a list of GraphQL errors.
fn error_frame(id: &str, code: &str, message: &str) -> String {
    let errors = json!([{ "message": message, "extensions": { "code": code } }]);
    json!({"type": "error", "id": id, "payload": errors}).to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn target(protocol: Protocol) -> (Target, mpsc::Receiver<Out>) {
        let (out, rx) = mpsc::channel(1);
        let target = Target {
            protocol,
            id: "op".to_owned(),
            id_json: r#""op""#.to_owned(),
            serial: 1,
            out,
            metrics: Arc::default(),
        };
        (target, rx)
    }

    /// The next frame (anything else as a value no assertion expects).
    async fn frame(rx: &mut mpsc::Receiver<Out>) -> Value {
        match rx.recv().await {
            Some(Out::Frame { text, .. }) => serde_json::from_str(&text).unwrap_or(Value::Null),
            Some(Out::Done(id, _)) => json!({ "done": id }),
            None => json!({ "closed": true }),
        }
    }

    /// The member's own frames: what it was handed, then the error naming the cursor of the
    /// last of them, then `complete`, then the end of the operation.
    async fn behind_after(
        protocol: Protocol,
        capacity: usize,
        take: usize,
        then: usize,
    ) -> (Vec<Value>, Value) {
        let runs = Arc::new(Runs::new(capacity));
        let (run, member) = runs.detached(7);
        let (to, mut rx) = target(protocol);
        let relay = tokio::spawn(relay_frames(member, to));
        let mut seq = 7;
        let mut handed = Vec::new();
        for _ in 0..take {
            seq += 1;
            run.emit(seq);
            handed.push(frame(&mut rx).await);
        }
        // Past what the member's buffer holds, while it waits on its full connection queue.
        for _ in 0..then {
            seq += 1;
            run.emit(seq);
        }
        let mut last = frame(&mut rx).await;
        // Frames the member had queued before it fell behind.
        while last["payload"]["data"]["seq"].is_number() {
            last = frame(&mut rx).await;
        }
        assert_eq!(
            frame(&mut rx).await,
            json!({"type": "complete", "id": "op"})
        );
        assert!(matches!(rx.recv().await, Some(Out::Done(id, 1)) if id == "op"));
        assert!(relay.await.is_ok());
        (handed, last)
    }

    #[tokio::test]
    async fn a_member_that_falls_behind_is_told_the_cursor_after_its_last_event() {
        let (handed, behind) = behind_after(Protocol::TransportWs, 2, 2, 6).await;
        assert_eq!(
            handed,
            [
                json!({"type": "next", "id": "op", "payload": {"data": {"seq": 8}}}),
                json!({"type": "next", "id": "op", "payload": {"data": {"seq": 9}}}),
            ]
        );
        assert_eq!(behind["type"], "next");
        let error = &behind["payload"]["errors"][0];
        assert_eq!(error["extensions"]["code"], "SLOW_CONSUMER", "{behind}");
        assert!(error.get("locations").is_none(), "{behind}");
        assert_eq!(
            error["extensions"]["cursor"],
            crate::bus::encode_cursor(9),
            "{behind}"
        );
    }

    #[tokio::test]
    async fn a_member_behind_before_its_first_event_resumes_from_where_its_run_started() {
        let (handed, behind) = behind_after(Protocol::Legacy, 2, 0, 6).await;
        assert!(handed.is_empty());
        assert_eq!(behind["type"], "data", "legacy frames: {behind}");
        let error = &behind["payload"]["errors"][0];
        assert_eq!(error["extensions"]["code"], "SLOW_CONSUMER", "{behind}");
        assert_eq!(
            error["extensions"]["cursor"],
            crate::bus::encode_cursor(7),
            "{behind}"
        );
    }
}
