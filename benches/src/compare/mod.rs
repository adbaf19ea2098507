//! grantline beside the crates users pick today, on identical inputs: every case of the comparison
//! table, shared by the criterion bench (`benches/compare.rs`) and the instruction/allocation
//! counter (`src/bin/opcount.rs`).
//!
//! Each row of the table is one operation; each column one way of doing it:
//!
//! - [`Column::Grantline`]: the public API a grantline user calls.
//! - [`Column::Oauth2`] and [`Column::Openidconnect`]: the incumbents, through their public API.
//! - [`Column::Floor`]: the same work with no OAuth library at all (plain `serde_json` into a
//!   minimal struct, plain `url` and `serde_urlencoded`, `http`): how little the operation can
//!   cost.
//!
//! Both incumbents parse responses only inside `request(&http_client)`, which builds the request
//! first. Their parse rows are therefore measured as a difference of two cases on the same input:
//! [`Kind::Gross`] (build, hand the request to an in-memory client that answers with the canned
//! response, parse) minus [`Kind::Baseline`] (the same, but the in-memory client makes the same
//! copy of the canned response, drops it and answers with an error). What remains is exactly the
//! library's response handling.
//!
//! ```
//! use grantline_benches::compare::{CaseId, Visitor, for_each_case};
//!
//! struct Names(Vec<String>);
//! impl Visitor for Names {
//!     fn case<I, O>(&mut self, id: CaseId, _: impl FnMut() -> I, _: impl FnMut(I) -> O) {
//!         self.0.push(id.name());
//!     }
//! }
//! let mut names = Names(Vec::new());
//! for_each_case(&mut names);
//! assert!(names.0.contains(&"token_minimal/grantline".to_owned()));
//! ```

use std::hint::black_box;

pub(crate) mod col_floor;
mod col_grantline;
pub(crate) mod col_oauth2;
mod col_openidconnect;
pub mod fixtures;

/// Who does the work in a case.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
#[allow(clippy::exhaustive_enums)]
pub enum Column {
    /// grantline.
    Grantline,
    /// oauth2-rs 5.
    Oauth2,
    /// openidconnect-rs 4.
    Openidconnect,
    /// No OAuth library: the least work possible.
    Floor,
}

impl Column {
    /// Every column, in table order.
    pub const ALL: [Column; 4] = [
        Column::Grantline,
        Column::Oauth2,
        Column::Openidconnect,
        Column::Floor,
    ];

    /// The column's name in case names and table headers.
    #[must_use]
    pub fn as_str(self) -> &'static str {
        match self {
            Column::Grantline => "grantline",
            Column::Oauth2 => "oauth2",
            Column::Openidconnect => "openidconnect",
            Column::Floor => "floor",
        }
    }
}

/// How a case's figures enter the table.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[allow(clippy::exhaustive_enums)]
pub enum Kind {
    /// The case is the operation.
    Direct,
    /// The operation plus a baseline: the table shows this minus the [`Kind::Baseline`] case of the
    /// same row and column.
    Gross,
    /// What is subtracted from the [`Kind::Gross`] case.
    Baseline,
}

/// One case: a row of the table, a column, and how its figures are used.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[allow(clippy::exhaustive_structs)]
pub struct CaseId {
    /// The operation: one of [`ROWS`]' ids.
    pub row: &'static str,
    /// Who does it.
    pub column: Column,
    /// Direct, or one side of a difference.
    pub kind: Kind,
}

impl CaseId {
    const fn new(row: &'static str, column: Column, kind: Kind) -> Self {
        Self { row, column, kind }
    }

    /// `row/column`, with `.gross` or `.baseline` for the two sides of a difference.
    ///
    /// ```
    /// use grantline_benches::compare::{CaseId, Column, Kind};
    /// let id = CaseId { row: "discovery", column: Column::Floor, kind: Kind::Direct };
    /// assert_eq!(id.name(), "discovery/floor");
    /// ```
    #[must_use]
    pub fn name(&self) -> String {
        format!("{}/{}", self.row, self.bench_name())
    }

    /// The name inside the row's criterion group: the column, with the kind's suffix.
    #[must_use]
    pub fn bench_name(&self) -> String {
        let suffix = match self.kind {
            Kind::Direct => "",
            Kind::Gross => ".gross",
            Kind::Baseline => ".baseline",
        };
        format!("{}{suffix}", self.column.as_str())
    }
}

/// A row of the comparison table.
#[derive(Debug, Clone, Copy)]
#[allow(clippy::exhaustive_structs)]
pub struct Row {
    /// The id used in case names (`token_minimal`).
    pub id: &'static str,
    /// What the row measures, for the table.
    pub label: &'static str,
}

/// Every row, in table order.
pub const ROWS: &[Row] = &[
    Row {
        id: "cc_request",
        label: "client-credentials token request, built to bytes ready to send (client_secret_basic, scope)",
    },
    Row {
        id: "token_minimal",
        label: "parse token response: access_token, expires_in, token_type (oidc-provider, real)",
    },
    Row {
        id: "token_jwt_at",
        label: "parse token response: JWT access token and scope (oidc-provider, real)",
    },
    Row {
        id: "token_refresh",
        label: "parse token response: with refresh_token and scope",
    },
    Row {
        id: "token_id_token",
        label: "parse token response: with refresh_token, scope and id_token",
    },
    Row {
        id: "error_response",
        label: "parse error response: 401 invalid_client (oidc-provider, real)",
    },
    Row {
        id: "authorize_url",
        label: "authorization URL with PKCE S256, state and nonce, scope openid",
    },
    Row {
        id: "callback",
        label: "validate the callback URL (redirect URI, state, iss, code)",
    },
    Row {
        id: "discovery",
        label: "parse the OpenID discovery document (oidc-provider, real, 2.2 kB) and check its issuer",
    },
    Row {
        id: "discovery_keycloak",
        label: "parse a Keycloak-style discovery document (3.8 kB, 12 endpoint URLs, 20 `*_supported` arrays) and check its issuer",
    },
    Row {
        id: "authorize_url_3scopes",
        label: "authorization URL with PKCE S256, state and nonce, scope openid profile email",
    },
];

/// Receives every case of the comparison. A case is a pair of closures: `input` makes what one
/// run consumes (not measured), `run` is the operation (measured, dropping its output included).
pub trait Visitor {
    /// One case.
    fn case<I, O>(&mut self, id: CaseId, input: impl FnMut() -> I, run: impl FnMut(I) -> O);
}

/// Hands every case of the comparison to `visitor`, in table order.
///
/// # Panics
///
/// If a fixture does not give the answer it should (each case checks its output once before it
/// is handed out, so a case that silently measures an error path cannot slip in).
pub fn for_each_case(visitor: &mut impl Visitor) {
    let fixtures = fixtures::Fixtures::new();
    col_grantline::cases(&fixtures, visitor);
    col_oauth2::cases(&fixtures, visitor);
    col_openidconnect::cases(&fixtures, visitor);
    col_floor::cases(&fixtures, visitor);
}

/// Runs `run` once per input, dropping each output. Never inlined, and named so that
/// `valgrind --tool=callgrind --toggle-collect='*measured_loop*'` counts exactly this.
#[inline(never)]
pub fn measured_loop<I, O>(inputs: Vec<I>, run: &mut impl FnMut(I) -> O) {
    for input in inputs {
        black_box(run(black_box(input)));
    }
}
