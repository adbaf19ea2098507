//! Integration tests for grantline live in `tests/`; this library holds what the runnable
//! examples share (a local demo authorization server) and compiles the README's examples, so the
//! README cannot drift from the API.

pub mod api_demo;
pub mod demo;
pub mod hostile;
#[cfg(feature = "interop")]
pub mod interop;
pub mod mini_as;

#[doc = include_str!("../../README.md")]
mod readme {}
