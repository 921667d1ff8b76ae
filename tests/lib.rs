//! Quorum's integration tests live in `api/` (the `api` test target); this crate has no code.
