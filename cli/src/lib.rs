//! The parts of the `grantline` command that fuzz targets and tests reach from outside the
//! binary. Not a public API: use the `grantline` command, or the `grantline` library itself.

#![forbid(unsafe_code)]
#![doc(hidden)]

pub mod loopback_request;
