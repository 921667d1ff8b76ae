//! `GET /metrics` in the Prometheus text format: live connections, delivery, outbox lag and
//! HTTP requests. Counters are plain atomics; the set is small enough not to need a crate.

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::sync::atomic::{AtomicI64, AtomicU64, Ordering};
use std::sync::{Mutex, OnceLock};
use std::time::Duration;

use actix_web::{HttpResponse, web};

use crate::state::AppState;
use crate::store;

/// Upper bounds of the request latency histogram, in seconds.
const BUCKETS: [f64; 12] = [
    0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 10.0,
];

/// What the process's allocator holds, in bytes, as jemalloc counts it.
#[derive(Clone, Copy, Debug)]
pub struct Memory {
    /// Bytes the program has allocated and not freed: the live heap.
    pub allocated: u64,
    /// Bytes in pages the allocator has handed out for those allocations (live heap plus
    /// fragmentation inside those pages).
    pub active: u64,
    /// Bytes of the allocator's pages that are in physical memory, its metadata included:
    /// the allocator's share of the RSS.
    pub resident: u64,
    /// Bytes of virtual memory kept mapped but returned to the kernel (not in the RSS).
    pub retained: u64,
    /// The allocator's own bookkeeping.
    pub metadata: u64,
}

/// Reads [`Memory`]. Only the `quorum` binary knows its allocator, so it installs this with
/// [`report_memory_with`]; a process that does not (the tests) reports no memory series.
static MEMORY: OnceLock<fn() -> Option<Memory>> = OnceLock::new();

/// Makes `/metrics` report what `probe` reads. The first call wins.
pub fn report_memory_with(probe: fn() -> Option<Memory>) {
    let _ = MEMORY.set(probe);
}

#[derive(Default)]
pub struct Metrics {
    /// HTTP requests being handled, across every worker (shutdown waits for 0).
    pub requests_in_flight: AtomicI64,
    pub ws_connections: AtomicI64,
    pub subscriptions: AtomicI64,
    /// Subscriptions whose live feed is registered: anything committed after this moves
    /// reaches them. Clients cannot observe that moment (graphql-ws has no acknowledgement of
    /// a `subscribe`), so this is how a test or an operator knows a subscriber is listening.
    pub subscriptions_listening: AtomicU64,
    pub events_delivered: AtomicU64,
    requests: Mutex<BTreeMap<(String, String, u16), u64>>,
    latency: Histogram,
    /// Live delivery, per [`Stage`]: time since the hub dispatched the event.
    delivery: [Histogram; 3],
}

/// How far a live event has got, timed from its dispatch by this instance's hub, so that the
/// stages of one delivery compare: where the time between taken and handed goes is where a
/// slow stream waits.
#[derive(Clone, Copy)]
pub enum Stage {
    /// The subscription's stream took it off its channel.
    Taken,
    /// Its rows are loaded (before GraphQL resolves the nested fields).
    Loaded,
    /// Its frame is handed to the connection's writer.
    Handed,
}

impl Stage {
    const ALL: [(Stage, &str); 3] = [
        (Stage::Taken, "taken"),
        (Stage::Loaded, "loaded"),
        (Stage::Handed, "handed"),
    ];
}

/// A Prometheus histogram over [`BUCKETS`].
#[derive(Default)]
struct Histogram {
    buckets: [AtomicU64; BUCKETS.len()],
    count: AtomicU64,
    /// Microseconds, so that the sum stays an integer.
    sum_us: AtomicU64,
}

impl Histogram {
    fn observe(&self, took: Duration) {
        let secs = took.as_secs_f64();
        for (bound, count) in BUCKETS.iter().zip(&self.buckets) {
            if secs <= *bound {
                count.fetch_add(1, Ordering::Relaxed);
            }
        }
        self.count.fetch_add(1, Ordering::Relaxed);
        let us = u64::try_from(took.as_micros()).unwrap_or(u64::MAX);
        self.sum_us.fetch_add(us, Ordering::Relaxed);
    }

    /// The series of `name`, each with `labels` (`key="value",` pairs, or empty) first.
    fn render(&self, s: &mut String, name: &str, labels: &str) {
        for (bound, count) in BUCKETS.iter().zip(&self.buckets) {
            let _ = writeln!(
                s,
                "{name}_bucket{{{labels}le=\"{bound}\"}} {}",
                count.load(Ordering::Relaxed)
            );
        }
        let total = self.count.load(Ordering::Relaxed);
        let _ = writeln!(s, "{name}_bucket{{{labels}le=\"+Inf\"}} {total}");
        let sum = self.sum_us.load(Ordering::Relaxed) as f64 / 1e6;
        let labels = labels.trim_end_matches(',');
        let braces = if labels.is_empty() {
            String::new()
        } else {
            format!("{{{labels}}}")
        };
        let _ = writeln!(s, "{name}_sum{braces} {sum}\n{name}_count{braces} {total}");
    }
}

impl Metrics {
    /// One finished HTTP request. WebSocket upgrades count when they are answered.
    pub fn request(&self, method: &str, path: &str, status: u16, took: Duration) {
        // Only known routes and methods get their own series, so that scanners cannot grow
        // the map (actix accepts any token as a method).
        let method = match method {
            "GET" | "POST" | "HEAD" | "OPTIONS" => method,
            _ => "other",
        };
        let path = match path {
            "/graphql" | "/healthz" | "/readyz" | "/metrics" => path,
            _ => "other",
        };
        *self
            .requests
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .entry((method.to_owned(), path.to_owned(), status))
            .or_default() += 1;
        self.latency.observe(took);
    }

    /// A live event reached `stage`, `since` it was dispatched.
    pub fn delivery(&self, stage: Stage, since: std::time::Instant) {
        self.delivery[stage as usize].observe(since.elapsed());
    }

    fn render(&self, lag_secs: Option<f64>, runs: i64) -> String {
        let mut s = String::new();
        let gauge = |s: &mut String, name: &str, help: &str, kind: &str, value: String| {
            let _ = writeln!(
                s,
                "# HELP {name} {help}\n# TYPE {name} {kind}\n{name} {value}"
            );
        };
        gauge(
            &mut s,
            "quorum_http_requests_in_flight",
            "HTTP requests being handled (this one included).",
            "gauge",
            self.requests_in_flight.load(Ordering::Relaxed).to_string(),
        );
        gauge(
            &mut s,
            "quorum_ws_connections",
            "Open WebSocket connections.",
            "gauge",
            self.ws_connections.load(Ordering::Relaxed).to_string(),
        );
        gauge(
            &mut s,
            "quorum_subscriptions",
            "Open GraphQL subscriptions.",
            "gauge",
            self.subscriptions.load(Ordering::Relaxed).to_string(),
        );
        gauge(
            &mut s,
            "quorum_subscription_runs",
            "Executions serving the open subscriptions: identical ones (same viewer, query and variables, following the live feed) share one.",
            "gauge",
            runs.to_string(),
        );
        gauge(
            &mut s,
            "quorum_subscriptions_listening_total",
            "Subscriptions that reached their live feed (events committed afterwards reach them).",
            "counter",
            self.subscriptions_listening
                .load(Ordering::Relaxed)
                .to_string(),
        );
        gauge(
            &mut s,
            "quorum_events_delivered_total",
            "Subscription results sent to clients.",
            "counter",
            self.events_delivered.load(Ordering::Relaxed).to_string(),
        );
        match lag_secs {
            Some(lag) => gauge(
                &mut s,
                "quorum_outbox_lag_seconds",
                "Age of the oldest outbox row the relay has not announced (0 when none waits).",
                "gauge",
                format!("{lag:.3}"),
            ),
            None => {
                let _ = writeln!(
                    s,
                    "# quorum_outbox_lag_seconds unavailable: database unreachable"
                );
            }
        }
        if let Some(memory) = MEMORY.get().and_then(|probe| probe()) {
            for (name, help, value) in [
                (
                    "allocated",
                    "Bytes allocated and not yet freed (the live heap).",
                    memory.allocated,
                ),
                (
                    "active",
                    "Bytes in the allocator's pages that hold allocations (live heap plus their fragmentation).",
                    memory.active,
                ),
                (
                    "resident",
                    "Bytes of the allocator's pages in physical memory, its metadata included.",
                    memory.resident,
                ),
                (
                    "retained",
                    "Bytes the allocator keeps mapped but has returned to the kernel.",
                    memory.retained,
                ),
                (
                    "metadata",
                    "Bytes of the allocator's own bookkeeping.",
                    memory.metadata,
                ),
            ] {
                gauge(
                    &mut s,
                    &format!("quorum_memory_{name}_bytes"),
                    help,
                    "gauge",
                    value.to_string(),
                );
            }
        }
        let _ = writeln!(
            s,
            "# HELP quorum_http_requests_total HTTP requests answered.\n# TYPE quorum_http_requests_total counter"
        );
        for ((method, path, status), n) in self
            .requests
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .iter()
        {
            let _ = writeln!(
                s,
                "quorum_http_requests_total{{method=\"{method}\",path=\"{path}\",status=\"{status}\"}} {n}"
            );
        }
        let name = "quorum_http_request_duration_seconds";
        let _ = writeln!(
            s,
            "# HELP {name} Time to answer an HTTP request.\n# TYPE {name} histogram"
        );
        self.latency.render(&mut s, name, "");
        let name = "quorum_live_delivery_seconds";
        let _ = writeln!(
            s,
            "# HELP {name} Time from the hub's dispatch of a live event to each stage of its delivery to one subscription.\n# TYPE {name} histogram"
        );
        for (stage, label) in Stage::ALL {
            self.delivery[stage as usize].render(&mut s, name, &format!("stage=\"{label}\","));
        }
        s
    }
}

pub async fn metrics(state: web::Data<AppState>) -> HttpResponse {
    let lag = match store::outbox::oldest_waiting(&state.live_db).await {
        Ok(Some(oldest)) => Some(
            (store::now() - oldest)
                .to_std()
                .unwrap_or_default()
                .as_secs_f64(),
        ),
        Ok(None) => Some(0.0),
        Err(_) => None,
    };
    HttpResponse::Ok()
        .content_type("text/plain; version=0.0.4; charset=utf-8")
        .body(state.metrics.render(lag, state.runs.running()))
}
