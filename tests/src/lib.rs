//! Integration tests for grantline live in `tests/`; this library holds what the runnable
//! examples share (a local demo authorization server) and compiles the README's examples, so the
//! README cannot drift from the API.

// Test support: a setup that cannot proceed panics, which is the test failing, and the
// types here are for this workspace's tests only (never a public API to keep stable).
#![allow(
    clippy::expect_used,
    clippy::unwrap_used,
    clippy::indexing_slicing,
    clippy::exhaustive_enums
)]

pub mod api_demo;
pub mod demo;
pub mod fleet;
pub mod hostile;
#[cfg(feature = "interop")]
pub mod interop;
pub mod mini_as;

#[doc = include_str!("../../README.md")]
mod readme {}
