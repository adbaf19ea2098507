//! The interop harness: real authorization servers started on 127.0.0.1 for the test process,
//! and a small "browser" that plays the person at their login, consent and device pages.
//!
//! Each server is started once per test binary, on first use, by running its launcher with a
//! piped stdin; the launcher prints one JSON line (`{"issuer": ...}`) when the server answers,
//! and exits when its stdin closes, so the server stops when the test process ends, however it
//! ends. The servers are installed by `tests/interop/setup.sh` (run by `.ci/run` and by
//! `tests/interop/run.sh`).

mod browser;
mod server;

pub use browser::{Browser, Page};
pub use server::{FapiProvider, OidcProvider, oidc_provider, oidc_provider_fapi};

mod django;
pub use django::{Django, DjangoApp, django};

mod mtls;
pub use mtls::{ClientCertificate, MtlsMaterial, PKI_CLIENT_SUBJECT};
