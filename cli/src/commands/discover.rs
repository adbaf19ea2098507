//! `grantline discover`: the issuer's metadata, checked (the issuer must match exactly) and
//! printed as the server sent it.

use super::Context;
use crate::error::CliError;

/// Runs `discover`.
pub(crate) fn run(cx: &Context) -> Result<(), CliError> {
    let backend = cx.settings.backend()?;
    let (_, document) = cx.settings.discover(&backend)?;
    cx.output.print(&document)
}
