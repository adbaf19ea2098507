//! Integration tests for grantline live in `tests/`; this library only compiles the README's
//! examples, so the README cannot drift from the API.

#[doc = include_str!("../../README.md")]
mod readme {}
