//! The ingestion input decoder: what `ingestEngagements` (and `quorum import` for engagement
//! rows) does with an event before touching the database.
//!
//! First byte even: the rest is an `arbitrary` event (every field a free string) handed to
//! `ingest::check`, the pure per-item parser (`eventId`, `kind`, `occurredAt`, `metadata`, and
//! `contactEmail` / `accountDomain` through `Email::parse` / `Domain::parse`), plus the batch
//! fingerprint. First byte odd: the rest is JSON, as a GraphQL variable or an NDJSON import
//! row; it goes through `async_graphql::Value::from_json` and `EngagementInput`'s own
//! `InputType::parse` (a list for an array) into the same checks.
#![no_main]

use arbitrary::{Arbitrary, Unstructured};
use async_graphql::InputType as _;
use chrono::{DateTime, Utc};
use libfuzzer_sys::fuzz_target;
use quorum_api::graphql::mutation::EngagementInput;
use quorum_api::ingest::{self, RawEvent};
use quorum_domain::value::{Domain, Email};

#[derive(Debug, Arbitrary)]
struct Event {
    event_id: String,
    contact_id: Option<String>,
    contact_email: Option<String>,
    account_domain: Option<String>,
    kind: String,
    occurred_at: String,
    metadata: Option<String>,
}

/// A fixed "now" so that a crash reproduces on any day.
fn now() -> DateTime<Utc> {
    DateTime::from_timestamp(1_795_478_400, 0).unwrap_or_default() // 2026-11-24T00:00:00Z
}

fn email(raw: &str) {
    let Ok(e) = Email::parse(raw) else { return };
    assert!(e.as_str().len() <= 254, "{e:?}");
    assert_eq!(Email::parse(e.as_str()).as_ref(), Ok(&e), "not idempotent");
    assert!(e.as_str().ends_with(&format!("@{}", e.domain())), "{e:?}");
}

fn domain(raw: &str) {
    let Ok(d) = Domain::parse(raw) else { return };
    assert!(d.as_str().len() <= 253, "{d:?}");
    // The canonical form is a domain again. (It is not always a fixed point: `www.www.a.io`
    // keeps one `www.`, which a second parse drops; see docs/fuzzing.md.)
    let again = Domain::parse(d.as_str());
    assert!(again.is_ok(), "{d:?} does not parse again");
    if !d.as_str().starts_with("www.") {
        assert_eq!(again.as_ref(), Ok(&d), "not idempotent");
    }
    let parents = d.with_parents();
    assert_eq!(parents.first(), Some(&d));
    assert!(parents.iter().all(|p| Domain::parse(p.as_str()).is_ok()));
}

fn event(raw: RawEvent) {
    if let Some(e) = &raw.contact_email {
        email(e);
    }
    if let Some(d) = &raw.account_domain {
        domain(d);
    }
    let fp = ingest::fingerprint(std::slice::from_ref(&raw));
    assert_eq!(fp.len(), 16);
    let id = raw.event_id.trim().to_owned();
    match ingest::check(raw, now()) {
        Ok(()) => assert!(!id.is_empty() && id.chars().count() <= 200),
        Err(r) => assert!(!r.reason.is_empty()),
    }
}

fuzz_target!(|data: &[u8]| {
    let Some((&mode, rest)) = data.split_first() else {
        return;
    };
    if mode % 2 == 0 {
        let Ok(e) = Event::arbitrary_take_rest(Unstructured::new(rest)) else {
            return;
        };
        event(RawEvent {
            event_id: e.event_id,
            contact_id: e.contact_id,
            contact_email: e.contact_email,
            account_domain: e.account_domain,
            kind: e.kind,
            occurred_at: e.occurred_at,
            metadata: e.metadata.and_then(|m| serde_json::from_str(&m).ok()),
        });
        return;
    }
    let Ok(json) = serde_json::from_slice::<serde_json::Value>(rest) else {
        return;
    };
    let Ok(value) = async_graphql::Value::from_json(json) else {
        return;
    };
    let events = if matches!(value, async_graphql::Value::List(_)) {
        Vec::<EngagementInput>::parse(Some(value)).ok()
    } else {
        EngagementInput::parse(Some(value)).ok().map(|e| vec![e])
    };
    let batch: Vec<RawEvent> = events.into_iter().flatten().map(RawEvent::from).collect();
    let _ = ingest::fingerprint(&batch);
    for raw in batch {
        event(raw);
    }
});
