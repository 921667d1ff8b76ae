//! WebSocket message handling: one text frame from a client, for either subprotocol
//! (`graphql-transport-ws`, legacy `graphql-ws`).
//!
//! First byte: bit 0 picks the protocol, bit 1 whether the caller is a signed-in admin or
//! nobody. The rest is the frame's text, handed to `ws::decode` (what `Connection::handle`
//! acts on). A `connection_init` payload goes on to `ws::init_token`; a `subscribe` / `start`
//! payload is read as a GraphQL request as `Connection::start` reads it and run on the real
//! schema (its limits included) without a database: parsing, validation, guards and argument
//! decoding are exercised, and resolvers that reach storage answer with an error. Invariants:
//! nothing panics; a refused frame closes with 4400; an accepted subscription has a non-empty
//! id; responses serialise.
#![no_main]

use std::sync::LazyLock;

use futures_util::StreamExt as _;
use libfuzzer_sys::fuzz_target;
use quorum_api::auth::{Caller, Viewer};
use quorum_api::graphql::{Limits, QuorumSchema, schema_builder};
use quorum_api::ws::{ClientMessage, Close, Protocol, decode, init_token};
use quorum_domain::value::{Role, UserId, WorkspaceId};
use uuid::Uuid;

static SCHEMA: LazyLock<QuorumSchema> =
    LazyLock::new(|| schema_builder(&Limits::default()).finish());
static RUNTIME: LazyLock<Option<tokio::runtime::Runtime>> = LazyLock::new(|| {
    tokio::runtime::Builder::new_current_thread()
        .enable_time()
        .build()
        .ok()
});

fn run(payload: serde_json::Value, caller: Caller) {
    let Ok(request) = serde_json::from_value::<async_graphql::Request>(payload) else {
        return;
    };
    let Some(rt) = RUNTIME.as_ref() else {
        return;
    };
    rt.block_on(async {
        let mut stream = SCHEMA.execute_stream(request.data(caller));
        // The first response says whether the operation was taken; later ones would wait on
        // the event bus.
        if let Some(response) = stream.next().await {
            let text = serde_json::to_string(&response);
            assert!(text.is_ok());
        }
    });
}

fuzz_target!(|data: &[u8]| {
    let Some((&mode, rest)) = data.split_first() else {
        return;
    };
    let Ok(text) = std::str::from_utf8(rest) else {
        return;
    };
    let protocol = if mode & 1 == 0 {
        Protocol::TransportWs
    } else {
        Protocol::Legacy
    };
    let caller = if mode & 2 == 0 {
        Caller::Anonymous
    } else {
        Caller::Viewer(Viewer {
            user_id: UserId::from(Uuid::from_u128(1)),
            workspace_id: WorkspaceId::from(Uuid::from_u128(2)),
            role: Role::Admin,
        })
    };
    match decode(protocol, text) {
        Err(Close(code, _)) => assert_eq!(code, 4400),
        Ok(ClientMessage::Init(payload)) => {
            let _ = init_token(payload.as_ref());
        }
        Ok(ClientMessage::Subscribe { id, payload }) => {
            assert!(!id.is_empty());
            if let Some(p) = payload {
                run(p, caller);
            }
        }
        Ok(ClientMessage::Complete(_)) => {}
        Ok(ClientMessage::Ping | ClientMessage::Pong | ClientMessage::Terminate) => {
            assert_eq!(
                protocol == Protocol::Legacy,
                matches!(decode(protocol, text), Ok(ClientMessage::Terminate))
            );
        }
    }
});
