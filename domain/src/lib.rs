//! Quorum's domain: the rules of account-based qualification as pure functions over values.
//!
//! Nothing here does I/O: callers pass in the data and the current time, so every rule can be
//! tested exhaustively and gives the same answer on every instance.

pub mod committee;
pub mod filter;
pub mod generate;
pub mod metrics;
pub mod qualify;
pub mod route;
pub mod score;
pub mod value;
