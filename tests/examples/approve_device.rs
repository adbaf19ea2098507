//! Plays the person at the oidc-provider test server's device pages: enters the user code,
//! confirms, logs in and consents. Used by `tests/interop/main-job.sh`.
//!
//! `cargo run -p grantline-tests --features interop --example approve_device -- VERIFICATION_URI USER_CODE [LOGIN]`

#![allow(clippy::print_stderr)]

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let [uri, code, rest @ ..] = args.as_slice() else {
        eprintln!("usage: approve_device VERIFICATION_URI USER_CODE [LOGIN]");
        std::process::exit(2);
    };
    let login = rest.first().map_or("newcomer", String::as_str);
    grantline_tests::interop::Browser::new().oidc_provider_device(uri, code, login);
    eprintln!("approved {code} as {login}");
}
