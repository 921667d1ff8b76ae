//! Input types. They stay raw strings and numbers; `parse` turns each into a store value or
//! a `BAD_USER_INPUT` naming the field at fault, such as `input[3].domain`.

mod account;
mod contact;
mod filter;
mod model;
mod user;

pub use account::AccountInput;
pub use contact::ContactInput;
pub use filter::{AccountFilterInput, AccountOrder, AccountOrderField};
pub use model::ScoringModelInput;
pub use user::UserInput;

use async_graphql::MaybeUndefined;
use quorum_domain::value::Invalid;

use crate::error::{AppError, At};
use crate::store::Patch;

/// Most items one mutation takes: bigger loads go through several calls (or `quorum import`).
pub const MAX_BATCH_ITEMS: usize = 1_000;

/// Refuses an empty or oversized batch.
fn check_batch<T>(items: &[T], field: &str) -> Result<(), AppError> {
    if items.is_empty() {
        Err(AppError::bad_input(field, "must contain at least one item"))
    } else if items.len() > MAX_BATCH_ITEMS {
        Err(AppError::bad_input(
            field,
            format!(
                "at most {MAX_BATCH_ITEMS} items per call, got {}",
                items.len()
            ),
        ))
    } else {
        Ok(())
    }
}

/// Parses each item at `input[i]` and refuses a batch that names the same key twice (the later
/// item's `key_field` is at fault): one write per key keeps an upsert's result unambiguous.
pub fn parse_batch<I, T>(
    input: Vec<I>,
    key_field: &str,
    parse: impl Fn(I, &str) -> Result<T, AppError>,
    key: impl Fn(&T) -> String,
) -> Result<Vec<T>, AppError> {
    check_batch(&input, "input")?;
    let mut items = Vec::with_capacity(input.len());
    let mut seen: std::collections::HashMap<String, usize> = std::collections::HashMap::new();
    for (i, raw) in input.into_iter().enumerate() {
        let item = parse(raw, &format!("input[{i}]"))?;
        let k = key(&item);
        if let Some(first) = seen.get(&k) {
            return Err(AppError::bad_input(
                format!("input[{i}].{key_field}"),
                format!("{k} is also input[{first}]"),
            ));
        }
        seen.insert(k, i);
        items.push(item);
    }
    Ok(items)
}

/// An optional input field as a `Patch`, parsing a given value with `parse`.
pub fn patch<R, T>(
    raw: MaybeUndefined<R>,
    field: impl FnOnce() -> String,
    parse: impl FnOnce(R) -> Result<T, Invalid>,
) -> Result<Patch<T>, AppError> {
    match raw {
        MaybeUndefined::Undefined => Ok(Patch::Keep),
        MaybeUndefined::Null => Ok(Patch::Clear),
        MaybeUndefined::Value(v) => parse(v).at(field).map(Patch::Set),
    }
}

/// Free text: trimmed, at most `max` characters; blank counts as no value.
pub fn text(max: usize) -> impl FnOnce(String) -> Result<String, Invalid> {
    move |s| quorum_domain::value::non_empty(&s, max)
}
