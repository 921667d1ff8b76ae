//! A GraphQL-over-WebSocket client for tests, speaking `graphql-transport-ws` or the legacy
//! `graphql-ws`. Every read has a deadline, so a missing event fails the test instead of
//! hanging it, and nothing sleeps.

use std::collections::VecDeque;
use std::time::Duration;

use futures_util::{SinkExt as _, StreamExt as _};
use serde_json::{Value, json};
use tokio::net::TcpStream;
use tokio::time::Instant;
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::tungstenite::client::IntoClientRequest as _;
use tokio_tungstenite::tungstenite::http::HeaderValue;
use tokio_tungstenite::{MaybeTlsStream, WebSocketStream};

/// `graphql-transport-ws`, the protocol of graphql-ws ≥ 5.
pub const MODERN: &str = "graphql-transport-ws";
/// `graphql-ws`, the protocol of Apollo's old subscriptions-transport-ws.
pub const LEGACY: &str = "graphql-ws";

/// How long to wait for something that must come: well past the ~1 s delivery promise.
pub const WAIT: Duration = Duration::from_secs(5);

/// What the server sent.
#[derive(Debug)]
pub enum Incoming {
    Json(Value),
    /// The close frame's code; `None` when the connection ended without one.
    Closed(Option<u16>),
}

pub struct Ws {
    /// The app's `http://` base, for its `/metrics`.
    base: String,
    socket: WebSocketStream<MaybeTlsStream<TcpStream>>,
    protocol: &'static str,
    /// Messages read while waiting for another operation's.
    backlog: VecDeque<Value>,
}

impl Ws {
    /// Opens `/graphql` of the app at `base` (`http://…`) offering `protocol` only.
    pub async fn connect(base: &str, protocol: &'static str) -> Self {
        Self::connect_with(base, protocol, None).await
    }

    /// As `connect`, with `Authorization: Bearer <token>` on the upgrade request.
    pub async fn connect_with(base: &str, protocol: &'static str, bearer: Option<&str>) -> Self {
        let url = format!("{}/graphql", base.replacen("http://", "ws://", 1));
        let mut req = url.into_client_request().expect("a WebSocket request");
        req.headers_mut()
            .insert("sec-websocket-protocol", HeaderValue::from_static(protocol));
        if let Some(token) = bearer {
            req.headers_mut().insert(
                "authorization",
                HeaderValue::from_str(&format!("Bearer {token}")).expect("a header value"),
            );
        }
        let (socket, res) = tokio::time::timeout(WAIT, tokio_tungstenite::connect_async(req))
            .await
            .expect("the upgrade answered in time")
            .unwrap_or_else(|e| panic!("the upgrade to {protocol} failed: {e}"));
        assert_eq!(
            res.headers()
                .get("sec-websocket-protocol")
                .and_then(|v| v.to_str().ok()),
            Some(protocol),
            "the server echoes the subprotocol"
        );
        Self {
            base: base.to_owned(),
            socket,
            protocol,
            backlog: VecDeque::new(),
        }
    }

    /// Connects and completes `connection_init` with `token`.
    pub async fn ready(base: &str, protocol: &'static str, token: &str) -> Self {
        let mut ws = Self::connect(base, protocol).await;
        ws.init(token).await;
        ws
    }

    fn is_legacy(&self) -> bool {
        self.protocol == LEGACY
    }

    pub async fn send(&mut self, msg: &Value) {
        self.send_text(&msg.to_string()).await;
    }

    pub async fn send_text(&mut self, text: &str) {
        self.socket
            .send(Message::text(text.to_owned()))
            .await
            .unwrap_or_else(|e| panic!("sending {text}: {e}"));
    }

    /// `connection_init` with the token as `Authorization: Bearer …`; expects the ack.
    pub async fn init(&mut self, token: &str) {
        let answer = self
            .init_with(json!({ "Authorization": format!("Bearer {token}") }))
            .await;
        match answer {
            Incoming::Json(m) if m["type"] == "connection_ack" => {}
            other => panic!("expected connection_ack, got {other:?}"),
        }
    }

    /// Sends `connection_init` with `payload` (none if `Null`); returns the answer.
    pub async fn init_with(&mut self, payload: Value) -> Incoming {
        let mut msg = json!({ "type": "connection_init" });
        if !payload.is_null() {
            msg["payload"] = payload;
        }
        self.send(&msg).await;
        self.recv_for(None, WAIT)
            .await
            .unwrap_or_else(|| panic!("no answer to connection_init within {WAIT:?}"))
    }

    /// Sends `subscribe` (`start` in graphql-ws) and nothing else.
    pub async fn start(&mut self, id: &str, query: &str, variables: Value) {
        let kind = if self.is_legacy() {
            "start"
        } else {
            "subscribe"
        };
        self.send(&json!({ "id": id, "type": kind,
            "payload": { "query": query, "variables": variables } }))
            .await;
    }

    /// Subscribes and waits until the server's live feed holds the subscription, so that
    /// whatever commits next reaches it. A `pong` is no such sign: the server sets a
    /// subscription up in its own task, which may still be reading its starting point from the
    /// database when the pong goes out. For an operation that is meant to fail, use `start`.
    pub async fn subscribe(&mut self, id: &str, query: &str, variables: Value) {
        let before = self.listening().await;
        self.start(id, query, variables).await;
        let deadline = Instant::now() + WAIT;
        while self.listening().await <= before {
            assert!(
                Instant::now() < deadline,
                "subscription {id} was not listening within {WAIT:?}"
            );
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
    }

    /// How many subscriptions ever reached their live feed on this socket's instance.
    async fn listening(&self) -> u64 {
        const NAME: &str = "quorum_subscriptions_listening_total ";
        let text = reqwest::get(format!("{}/metrics", self.base))
            .await
            .and_then(|r| r.error_for_status())
            .expect("/metrics answers")
            .text()
            .await
            .expect("/metrics has a body");
        text.lines()
            .find_map(|l| l.strip_prefix(NAME))
            .and_then(|n| n.trim().parse().ok())
            .unwrap_or_else(|| panic!("no {NAME}in /metrics:\n{text}"))
    }

    /// Ends operation `id`: `complete` (`stop` in graphql-ws).
    pub async fn complete(&mut self, id: &str) {
        let kind = if self.is_legacy() { "stop" } else { "complete" };
        self.send(&json!({ "id": id, "type": kind })).await;
    }

    /// `ping`, then waits for the `pong`.
    pub async fn ping(&mut self) {
        self.send(&json!({ "type": "ping" })).await;
        match self.recv_for(None, WAIT).await {
            Some(Incoming::Json(m)) if m["type"] == "pong" => {}
            other => panic!("expected pong, got {other:?}"),
        }
    }

    /// The `data` of operation `id`'s next event.
    pub async fn next(&mut self, id: &str) -> Value {
        self.next_within(id, WAIT).await
    }

    /// The `data` of operation `id`'s next event, which must come within `within`.
    pub async fn next_within(&mut self, id: &str, within: Duration) -> Value {
        let event = if self.is_legacy() { "data" } else { "next" };
        match self.recv_for(Some(id), within).await {
            Some(Incoming::Json(m)) if m["type"] == event => {
                assert!(
                    m["payload"]["errors"].is_null(),
                    "an event with errors: {m}"
                );
                m["payload"]["data"].clone()
            }
            None => panic!("no event for operation {id} within {within:?}"),
            Some(other) => panic!("expected an event for operation {id}, got {other:?}"),
        }
    }

    /// The payload (a list of GraphQL errors) of operation `id`'s `error` message.
    pub async fn error(&mut self, id: &str) -> Value {
        match self.recv_for(Some(id), WAIT).await {
            Some(Incoming::Json(m)) if m["type"] == "error" => m["payload"].clone(),
            other => panic!("expected an error message for operation {id}, got {other:?}"),
        }
    }

    /// Fails if anything about operation `id` (or the close) comes within `within`.
    pub async fn assert_quiet(&mut self, id: &str, within: Duration) {
        if let Some(m) = self.recv_for(Some(id), within).await {
            panic!("expected nothing for operation {id}, got {m:?}");
        }
    }

    /// Waits for the server to close the socket; returns the close code. Messages read on the
    /// way are kept.
    pub async fn close_code(&mut self) -> Option<u16> {
        let deadline = Instant::now() + WAIT;
        loop {
            match self.recv(deadline).await {
                None => panic!("the socket was still open after {WAIT:?}"),
                Some(Incoming::Closed(code)) => return code,
                Some(Incoming::Json(m)) => self.backlog.push_back(m),
            }
        }
    }

    /// Closes from our side, as a client that goes away does.
    pub async fn close(mut self) {
        self.socket.close(None).await.ok();
    }

    /// The next message about operation `id` (with `None`: one without an id, such as
    /// `connection_ack` or `pong`), or the close, within `within`; `None` on timeout.
    pub async fn recv_for(&mut self, id: Option<&str>, within: Duration) -> Option<Incoming> {
        if let Some(i) = self.backlog.iter().position(|m| m["id"].as_str() == id) {
            return self.backlog.remove(i).map(Incoming::Json);
        }
        let deadline = Instant::now() + within;
        loop {
            match self.recv(deadline).await? {
                Incoming::Json(m) if m["id"].as_str() != id => self.backlog.push_back(m),
                other => return Some(other),
            }
        }
    }

    /// The next message from the socket before `deadline`, skipping keep-alives and
    /// answering the server's protocol pings.
    async fn recv(&mut self, deadline: Instant) -> Option<Incoming> {
        loop {
            let frame = tokio::time::timeout_at(deadline, self.socket.next())
                .await
                .ok()?;
            let text = match frame {
                None | Some(Err(_)) => return Some(Incoming::Closed(None)),
                Some(Ok(Message::Close(frame))) => {
                    return Some(Incoming::Closed(frame.map(|f| u16::from(f.code))));
                }
                Some(Ok(Message::Text(text))) => text,
                // WebSocket pings are answered by tungstenite itself.
                Some(Ok(_)) => continue,
            };
            let m: Value = serde_json::from_str(text.as_str())
                .unwrap_or_else(|e| panic!("the server sent non-JSON ({e}): {}", text.as_str()));
            match m["type"].as_str() {
                Some("ka") if self.is_legacy() => {}
                Some("ping") if !self.is_legacy() => {
                    let pong = json!({ "type": "pong" }).to_string();
                    self.socket.send(Message::text(pong)).await.ok();
                }
                _ => return Some(Incoming::Json(m)),
            }
        }
    }
}

/// `extensions.code` of the first error of an `error` message's payload.
pub fn error_code(payload: &Value) -> &str {
    payload[0]["extensions"]["code"]
        .as_str()
        .unwrap_or("<no error code>")
}
