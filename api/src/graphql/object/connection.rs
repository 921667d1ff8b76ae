use async_graphql::SimpleObject;
use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use serde::{Serialize, de::DeserializeOwned};

use crate::error::AppError;

/// Extra fields of every connection.
#[derive(SimpleObject)]
pub struct TotalCount {
    /// Items matching, across all pages.
    pub total_count: u64,
}

/// Opaque cursors: base64 of a small JSON value. Clients must not parse them.
pub struct Cursor;

impl Cursor {
    pub fn encode<T: Serialize>(value: &T) -> String {
        URL_SAFE_NO_PAD.encode(serde_json::to_vec(value).unwrap_or_default())
    }

    /// `field` names the argument in the error (`after`).
    pub fn decode<T: DeserializeOwned>(raw: &str, field: &str) -> Result<T, AppError> {
        URL_SAFE_NO_PAD
            .decode(raw)
            .ok()
            .and_then(|bytes| serde_json::from_slice(&bytes).ok())
            .ok_or_else(|| AppError::bad_input(field, "not a cursor from this list"))
    }
}

/// Page size from `first`: default 20, at most 100.
pub fn page_size(first: Option<i32>) -> Result<u64, AppError> {
    match first {
        None => Ok(DEFAULT_PAGE),
        Some(n) if (0..=MAX_PAGE as i32).contains(&n) => Ok(n as u64),
        Some(_) => Err(AppError::bad_input(
            "first",
            format!("must be between 0 and {MAX_PAGE}"),
        )),
    }
}

pub const DEFAULT_PAGE: u64 = 20;
pub const MAX_PAGE: u64 = 100;

/// The cost the complexity limit charges a list field: `first` (or the default) times its
/// selection. Negative or huge `first` is charged in full so the limit refuses it early.
pub fn list_cost(first: Option<i32>, child: usize) -> usize {
    let n = match first {
        None => DEFAULT_PAGE as usize,
        Some(n) if n < 0 => usize::MAX / 2,
        Some(n) => n as usize,
    };
    child.saturating_mul(n).saturating_add(1)
}
