//! Quorum's server: storage, GraphQL, HTTP and auth around the pure `quorum-domain`.

pub mod assets;
pub mod auth;
pub mod bus;
pub mod cli;
pub mod config;
pub mod demo;
pub mod error;
pub mod generate;
pub mod graphql;
pub mod http;
pub mod import;
pub mod ingest;
pub mod metrics;
pub mod periodic;
pub mod qualification;
pub mod scoring;
pub mod segment;
pub mod sla;
pub mod startup;
pub mod state;
pub mod store;
pub mod upsert;
pub mod ws;
