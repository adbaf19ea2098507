//! Shared fixtures for grantline integration tests.
