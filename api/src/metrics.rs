//! `GET /metrics` in the Prometheus text format: live connections, delivery, outbox lag and
//! HTTP requests. Counters are plain atomics; the set is small enough not to need a crate.

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::sync::Mutex;
use std::sync::atomic::{AtomicI64, AtomicU64, Ordering};
use std::time::Duration;

use actix_web::{HttpResponse, web};

use crate::state::AppState;
use crate::store;

/// Upper bounds of the request latency histogram, in seconds.
const BUCKETS: [f64; 12] = [
    0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 10.0,
];

#[derive(Default)]
pub struct Metrics {
    pub ws_connections: AtomicI64,
    pub subscriptions: AtomicI64,
    /// Subscriptions whose live feed is registered: anything committed after this moves
    /// reaches them. Clients cannot observe that moment (graphql-ws has no acknowledgement of
    /// a `subscribe`), so this is how a test or an operator knows a subscriber is listening.
    pub subscriptions_listening: AtomicU64,
    pub events_delivered: AtomicU64,
    requests: Mutex<BTreeMap<(String, String, u16), u64>>,
    latency_buckets: [AtomicU64; BUCKETS.len()],
    latency_count: AtomicU64,
    /// Microseconds, so that the sum stays an integer.
    latency_sum_us: AtomicU64,
}

impl Metrics {
    /// One finished HTTP request. WebSocket upgrades count when they are answered.
    pub fn request(&self, method: &str, path: &str, status: u16, took: Duration) {
        // Only known routes get their own series, so that scanners cannot grow the map.
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
        let secs = took.as_secs_f64();
        for (bound, count) in BUCKETS.iter().zip(&self.latency_buckets) {
            if secs <= *bound {
                count.fetch_add(1, Ordering::Relaxed);
            }
        }
        self.latency_count.fetch_add(1, Ordering::Relaxed);
        let us = u64::try_from(took.as_micros()).unwrap_or(u64::MAX);
        self.latency_sum_us.fetch_add(us, Ordering::Relaxed);
    }

    fn render(&self, lag_secs: Option<f64>) -> String {
        let mut s = String::new();
        let gauge = |s: &mut String, name: &str, help: &str, kind: &str, value: String| {
            let _ = writeln!(
                s,
                "# HELP {name} {help}\n# TYPE {name} {kind}\n{name} {value}"
            );
        };
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
        for (bound, count) in BUCKETS.iter().zip(&self.latency_buckets) {
            let _ = writeln!(
                s,
                "{name}_bucket{{le=\"{bound}\"}} {}",
                count.load(Ordering::Relaxed)
            );
        }
        let total = self.latency_count.load(Ordering::Relaxed);
        let _ = writeln!(s, "{name}_bucket{{le=\"+Inf\"}} {total}");
        let sum = self.latency_sum_us.load(Ordering::Relaxed) as f64 / 1e6;
        let _ = writeln!(s, "{name}_sum {sum}\n{name}_count {total}");
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
        .body(state.metrics.render(lag))
}
