//! sea-orm entities, one per table. Only `store` uses them; GraphQL objects wrap `Model`s
//! and list their fields by hand, so a new column never leaks into the API by accident.

pub mod account;
pub mod account_technology;
pub mod app_user;
pub mod assignment;
pub mod bant;
pub mod buying_committee;
pub mod committee_member;
pub mod contact;
pub mod contact_activity;
pub mod engagement_event;
pub mod funnel_entry;
pub mod ingest_batch;
pub mod login_failure;
pub mod marketing_spend;
pub mod opportunity;
pub mod outbox;
pub mod routing_rule;
pub mod score_history;
pub mod scoring_model;
pub mod segment;
pub mod stage_transition;
pub mod workspace;
