//! `grantline decode`: a JWT's header and claims, for reading. The signature is **not**
//! verified, and the output says so.

use crate::args::DecodeArgs;
use crate::error::CliError;
use crate::output::Output;
use crate::settings::read_value;

/// Runs `decode`.
pub(crate) fn run(args: &DecodeArgs, output: &Output) -> Result<(), CliError> {
    let token = read_value(&args.jwt, "JWT")?;
    let decoded = crate::jwt::decode(&token).map_err(CliError::InvalidJwt)?;
    eprintln!("grantline: decoded only: the signature was not verified");
    output.print(&decoded.to_document(std::time::SystemTime::now()))
}
