//! Integration tests: the real app on a random port, on SQLite or (with `TEST_DATABASE_URL`)
//! PostgreSQL, one fresh database per test.
#![expect(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    reason = "tests fail by panicking"
)]

mod accounts;
mod analytics;
mod auth;
mod authz;
mod board;
mod committees;
mod contacts;
mod demo;
mod drills;
mod engagement;
mod errors;
mod health;
mod helpers;
mod import;
mod limits;
mod loaders;
mod process;
mod qualification;
mod routing;
mod schema;
mod scoring_model;
mod segments;
mod subscriptions;
mod tenancy;
mod webdriver;
mod ws;
