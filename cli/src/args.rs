//! The command line, as clap derive types: global options (server, client, connection, output,
//! profile) usable before or after the subcommand, and one type per subcommand.
//!
//! Help convention (see [`crate::help`], which sets the layout on the whole tree): a
//! subcommand's examples go in its `before_help` (`Example:`/`Examples:` and indented command
//! lines), shown right after its one-line description; further notes go in `after_help`. Its
//! page stays under 60 lines (a test walks every subcommand).

use std::path::PathBuf;

use clap::{Args, Parser, Subcommand, ValueEnum};
use grantline::secret::{ClientSecret, Password};
use serde::{Deserialize, Serialize};

/// The examples of `grantline --help` (shown first).
const EXAMPLES: &str = "\
Examples:
  grantline --issuer https://as.example --client-id svc --client-secret-file secret.txt \\
      token client-credentials --scope read --resource https://api.example/
  grantline --issuer https://as.example --client-id cli authorize --scope 'openid profile'
  grantline --issuer https://as.example --client-id tv device --scope openid
  grantline profile add work --issuer https://as.example --client-id svc --client-secret-file s.txt
  grantline token --profile work | jq -r .access_token";

/// The notes of `grantline --help`.
const EXIT_CODES: &str = "\
Exit codes: 0 ok, 1 internal, 2 usage, 3 configuration, 4 network, 5 OAuth error,
6 invalid_client, 7 invalid_grant, 8 access_denied, 9 expired, 10 unexpected response,
11 invalid response, 12 validation failed, 13 invalid JWT, 14 interrupted, 15 API error status.";

/// `grantline`: every OAuth 2 and OpenID Connect flow from a terminal.
/// A command-line value that is a secret (a token, an assertion, a JWT), or names where to read
/// one (`-`, `@PATH`): its `Debug` is redacted, so printing the parsed command line shows none.
#[derive(Clone, PartialEq, Eq)]
pub(crate) struct SecretArg(String);

impl From<String> for SecretArg {
    fn from(value: String) -> Self {
        SecretArg(value)
    }
}

impl std::ops::Deref for SecretArg {
    type Target = str;

    fn deref(&self) -> &str {
        &self.0
    }
}

impl std::fmt::Debug for SecretArg {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("SecretArg([redacted])")
    }
}

#[derive(Debug, Parser)]
#[command(
    name = "grantline",
    version,
    about = "Every OAuth 2 and OpenID Connect flow from a terminal",
    long_about = "Every OAuth 2 and OpenID Connect flow from a terminal.\n\n\
        Results (the server's JSON) go to stdout: pretty on a terminal, one compact line \
        otherwise, so `grantline token ... | jq -r .access_token` works. Prompts, progress and \
        errors go to stderr. Configure the server with --issuer (discovery) or explicit \
        endpoints, or save everything in a profile (`grantline profile add`).",
    before_help = EXAMPLES,
    after_help = EXIT_CODES,
    max_term_width = 100
)]
pub(crate) struct Cli {
    /// Options shared by every subcommand.
    #[command(flatten)]
    pub(crate) global: GlobalArgs,
    /// What to do.
    #[command(subcommand)]
    pub(crate) command: Command,
}

/// Options every subcommand takes, before or after its name.
#[derive(Debug, Args, Default)]
pub(crate) struct GlobalArgs {
    /// The authorization server's issuer: its metadata is discovered (OpenID Connect, then
    /// RFC 8414) and gives every endpoint
    #[arg(long, global = true, value_name = "URL", help_heading = "Server")]
    pub(crate) issuer: Option<String>,
    /// Token endpoint (overrides the metadata's)
    #[arg(long, global = true, value_name = "URL", help_heading = "Server")]
    pub(crate) token_endpoint: Option<String>,
    /// Authorization endpoint
    #[arg(long, global = true, value_name = "URL", help_heading = "Server")]
    pub(crate) authorization_endpoint: Option<String>,
    /// Device authorization endpoint (RFC 8628)
    #[arg(long, global = true, value_name = "URL", help_heading = "Server")]
    pub(crate) device_authorization_endpoint: Option<String>,
    /// Pushed authorization request endpoint (RFC 9126)
    #[arg(long, global = true, value_name = "URL", help_heading = "Server")]
    pub(crate) par_endpoint: Option<String>,
    /// Backchannel authentication endpoint (CIBA)
    #[arg(long, global = true, value_name = "URL", help_heading = "Server")]
    pub(crate) backchannel_authentication_endpoint: Option<String>,
    /// Revocation endpoint (RFC 7009)
    #[arg(long, global = true, value_name = "URL", help_heading = "Server")]
    pub(crate) revocation_endpoint: Option<String>,
    /// Introspection endpoint (RFC 7662)
    #[arg(long, global = true, value_name = "URL", help_heading = "Server")]
    pub(crate) introspection_endpoint: Option<String>,
    /// Userinfo endpoint (OpenID Connect)
    #[arg(long, global = true, value_name = "URL", help_heading = "Server")]
    pub(crate) userinfo_endpoint: Option<String>,

    /// The client identifier
    #[arg(
        long,
        global = true,
        env = "GRANTLINE_CLIENT_ID",
        value_name = "ID",
        help_heading = "Client"
    )]
    pub(crate) client_id: Option<String>,
    /// The client secret. Prefer --client-secret-file or the environment variable
    /// GRANTLINE_CLIENT_SECRET (used when neither option is given): a value on the command line
    /// shows in the process list. Never printed, masked in --verbose
    #[arg(
        long,
        global = true,
        value_name = "SECRET",
        allow_hyphen_values = true,
        help_heading = "Client",
        conflicts_with = "client_secret_file"
    )]
    pub(crate) client_secret: Option<ClientSecret>,
    /// Read the client secret from this file (its first line; `-` reads stdin)
    #[arg(long, global = true, value_name = "PATH", help_heading = "Client")]
    pub(crate) client_secret_file: Option<PathBuf>,
    /// How the client authenticates: basic (client_secret_basic, the default with a secret),
    /// post (client_secret_post), client-secret-jwt, private-key-jwt (the default with
    /// --private-key), none (a public client, the default without a secret), tls-client-auth
    /// or self-signed-tls-client-auth (RFC 8705, with --client-cert)
    #[arg(
        long,
        global = true,
        value_enum,
        value_name = "METHOD",
        help_heading = "Client"
    )]
    pub(crate) auth_method: Option<AuthMethod>,
    /// The private key for private_key_jwt: a JWK (JSON, private members included) or a PEM
    /// file (PKCS#8, or PKCS#1 for RSA)
    #[arg(long, global = true, value_name = "PATH", help_heading = "Client")]
    pub(crate) private_key: Option<PathBuf>,
    /// The signing algorithm for a PEM --private-key (RS256, PS256, ES256, ES384, EdDSA; default
    /// RS256) or for client-secret-jwt (HS256, HS384, HS512; default HS256)
    #[arg(long, global = true, value_name = "ALG", help_heading = "Client")]
    pub(crate) signing_alg: Option<String>,
    /// The key id (`kid`) the server knows the --private-key by
    #[arg(long, global = true, value_name = "KID", help_heading = "Client")]
    pub(crate) key_id: Option<String>,

    /// Which HTTP transport runs the flows
    #[arg(long, global = true, value_enum, help_heading = "Connection")]
    pub(crate) transport: Option<TransportKind>,
    /// Trust only the CA certificates in this PEM file (repeatable), e.g. a self-signed broker's
    #[arg(long, global = true, value_name = "PATH", help_heading = "Connection")]
    pub(crate) ca_cert: Vec<PathBuf>,
    /// Send every request through this HTTP proxy
    #[arg(long, global = true, value_name = "URL", help_heading = "Connection")]
    pub(crate) proxy: Option<String>,
    /// Give up on a request after this many seconds
    #[arg(
        long,
        global = true,
        value_name = "SECONDS",
        help_heading = "Connection"
    )]
    pub(crate) timeout: Option<u64>,
    /// Allow plain http endpoints on hosts that are not loopback addresses. Everything sent to
    /// them (secrets, tokens, codes) can be read on the network: use only on a trusted network
    #[arg(long, global = true, help_heading = "Connection")]
    pub(crate) insecure_http: bool,

    /// Output format of the result on stdout
    #[arg(
        long,
        short = 'o',
        global = true,
        value_enum,
        default_value_t = OutputFormat::Json,
        help_heading = "Output"
    )]
    pub(crate) output: OutputFormat,
    /// Print each HTTP exchange on stderr, secrets masked and JWTs decoded, with grantline's
    /// tracing events (status and duration of each exchange, renewals, retries, waits)
    #[arg(long, short = 'v', global = true, help_heading = "Output")]
    pub(crate) verbose: bool,

    /// Use the settings (and the cached token) of this profile; options given on the command
    /// line win over the profile's
    #[arg(
        long,
        global = true,
        env = "GRANTLINE_PROFILE",
        value_name = "NAME",
        help_heading = "Profile"
    )]
    pub(crate) profile: Option<String>,

    /// Testing aid: run the flows' clock this many times faster (polling intervals shrink
    /// accordingly, and the server sees the same proportions). Not for real use.
    #[arg(long, global = true, env = "GRANTLINE_TIME_SCALE", hide = true)]
    pub(crate) time_scale: Option<u32>,

    /// Bind tokens to a key this client holds (DPoP, RFC 9449): a new ES256 key, or the
    /// profile's (kept in its secret store, so renewals and `api` use the same key)
    #[arg(long, global = true, help_heading = "Client")]
    pub(crate) dpop: bool,
    /// The DPoP key: a private JWK file, or a PEM file (PKCS#8: ES256, ES384, EdDSA; or RSA).
    /// Implies --dpop. With a profile that has no key yet, the key is kept in the profile
    #[arg(long, global = true, value_name = "PATH", help_heading = "Client")]
    pub(crate) dpop_key: Option<PathBuf>,
    /// The client's TLS certificate (PEM; its chain may follow), presented on every TLS
    /// connection: for --auth-method tls-client-auth or self-signed-tls-client-auth and for
    /// certificate-bound tokens (RFC 8705). Needs --client-key. With it, requests go to the
    /// server's `mtls_endpoint_aliases` when its metadata has them
    #[arg(
        long,
        global = true,
        value_name = "PATH",
        help_heading = "Client",
        requires = "client_key"
    )]
    pub(crate) client_cert: Option<PathBuf>,
    /// The private key of --client-cert (PEM: PKCS#8, PKCS#1 or SEC1)
    #[arg(
        long,
        global = true,
        value_name = "PATH",
        help_heading = "Client",
        requires = "client_cert"
    )]
    pub(crate) client_key: Option<PathBuf>,
    /// How client_secret_basic encodes the id and secret: form (form-encoded first, as RFC 6749
    /// §2.3.1 says; the default) or raw (as they are, what Amazon Cognito and many other
    /// servers expect)
    #[arg(
        long,
        global = true,
        value_enum,
        value_name = "ENCODING",
        help_heading = "Client"
    )]
    pub(crate) basic_encoding: Option<BasicEncoding>,
    /// The FAPI 2.0 Security Profile: pushed requests (as --par), PKCE S256, tokens bound by
    /// --dpop or --client-cert, --auth-method private-key-jwt or tls-client-auth, PS256, ES256
    /// or EdDSA only, the issuer checked on every answer; anything else is refused, naming the
    /// rule
    #[arg(long, global = true, help_heading = "Client")]
    pub(crate) fapi2: bool,
    /// Ask for signed authorization responses (JARM, `response_mode=jwt`): the response JWT
    /// is verified with the issuer's keys before its code is used
    #[arg(long, global = true, help_heading = "Client")]
    pub(crate) jarm: bool,

    /// Use a provider's preset: its discovery (or endpoints) and its quirks (see the README's
    /// Providers section). Some presets need the options below
    #[arg(
        long,
        global = true,
        value_enum,
        value_name = "NAME",
        help_heading = "Server"
    )]
    pub(crate) provider: Option<Provider>,
    /// Entra ID (--provider entra-id): the tenant (its id or domain), or `common` or `organizations` for a
    /// multi-tenant client
    #[arg(long, global = true, value_name = "TENANT", help_heading = "Server")]
    pub(crate) tenant: Option<String>,
    /// Auth0 and Okta (--provider auth0, okta): the tenant's domain (acme.eu.auth0.com, acme.okta.com)
    #[arg(long, global = true, value_name = "DOMAIN", help_heading = "Server")]
    pub(crate) domain: Option<String>,
    /// Okta (--provider okta): a custom authorization server's id (`default`, ...); without it, the
    /// org authorization server
    #[arg(long, global = true, value_name = "ID", help_heading = "Server")]
    pub(crate) auth_server: Option<String>,
    /// Keycloak (--provider keycloak): the server's URL (with `/auth` for Keycloak 16 and older)
    #[arg(long, global = true, value_name = "URL", help_heading = "Server")]
    pub(crate) server_url: Option<String>,
    /// Keycloak (--provider keycloak): the realm
    #[arg(long, global = true, value_name = "REALM", help_heading = "Server")]
    pub(crate) realm: Option<String>,
    /// Amazon Cognito (--provider cognito): the user pool's id (`eu-west-1_AbCdEf123`)
    #[arg(long, global = true, value_name = "ID", help_heading = "Server")]
    pub(crate) user_pool: Option<String>,
    /// Sign in with Apple (--provider apple): the team id. The client secret JWT is signed
    /// with the private key option (the .p8 file) and its key id
    #[arg(long, global = true, value_name = "ID", help_heading = "Server")]
    pub(crate) team_id: Option<String>,
    /// Testing aid: send a --provider's requests to this origin (a loopback mock) instead of
    /// the provider's hosts. Not for real use.
    #[arg(long, global = true, value_name = "URL", hide = true)]
    pub(crate) provider_origin: Option<String>,
}

/// The providers `--provider` knows (`grantline::providers`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub(crate) enum Provider {
    /// GitHub (fixed endpoints; needs nothing else).
    Github,
    /// Google (accounts.google.com).
    Google,
    /// Microsoft Entra ID (needs --tenant).
    EntraId,
    /// Auth0 (needs --domain).
    Auth0,
    /// Okta (needs --domain; --auth-server for a custom authorization server).
    Okta,
    /// Keycloak (needs --server-url and --realm).
    Keycloak,
    /// Amazon Cognito (needs --user-pool).
    Cognito,
    /// Sign in with Apple (needs --team-id, --private-key and --key-id).
    Apple,
}

/// How `client_secret_basic` encodes the client id and secret before base64.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub(crate) enum BasicEncoding {
    /// Form-encode them first (RFC 6749 §2.3.1).
    Form,
    /// Send them as they are.
    Raw,
}

/// How the client authenticates at the token endpoint and its siblings.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub(crate) enum AuthMethod {
    /// `client_secret_basic`: HTTP Basic with the form-encoded id and secret.
    #[value(alias = "client_secret_basic")]
    Basic,
    /// `client_secret_post`: id and secret in the form.
    #[value(alias = "client_secret_post")]
    Post,
    /// `client_secret_jwt`: a JWT signed with the client secret (HMAC).
    #[value(alias = "client_secret_jwt")]
    ClientSecretJwt,
    /// `private_key_jwt`: a JWT signed with the client's private key.
    #[value(alias = "private_key_jwt")]
    PrivateKeyJwt,
    /// `none`: a public client, only `client_id` is sent.
    None,
    /// `tls_client_auth` (RFC 8705 §2.1): the TLS client certificate (--client-cert), from a CA
    /// the server trusts.
    #[value(alias = "tls_client_auth")]
    TlsClientAuth,
    /// `self_signed_tls_client_auth` (RFC 8705 §2.2): a self-signed TLS client certificate
    /// (--client-cert) registered with the client.
    #[value(alias = "self_signed_tls_client_auth")]
    SelfSignedTlsClientAuth,
}

/// The HTTP transport that runs the flows.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub(crate) enum TransportKind {
    /// grantline-ureq: blocking, ureq 3.
    #[cfg(feature = "ureq")]
    Ureq,
    /// grantline-reqwest: async, reqwest 0.13 on a tokio runtime.
    #[cfg(feature = "reqwest")]
    Reqwest,
}

impl TransportKind {
    /// The default: ureq when it is built in.
    pub(crate) fn default_kind() -> Self {
        #[cfg(feature = "ureq")]
        return TransportKind::Ureq;
        #[cfg(not(feature = "ureq"))]
        return TransportKind::Reqwest;
    }
}

/// How the result is printed on stdout.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum, Default)]
pub(crate) enum OutputFormat {
    /// The server's JSON: pretty on a terminal, one compact line otherwise.
    #[default]
    Json,
    /// One `name: value` line per field.
    Text,
}

/// The subcommands.
#[derive(Debug, Subcommand)]
pub(crate) enum Command {
    /// Fetch the server's metadata (OpenID Connect discovery, then RFC 8414) and print it
    #[command(
        before_help = "Example:\n  grantline --issuer https://as.example discover | jq .token_endpoint"
    )]
    Discover,
    /// Get a token from the token endpoint; without a grant, print the profile's cached token
    /// (renewed when it expired)
    Token(TokenArgs),
    /// The authorization code flow with PKCE: open the browser, catch the redirect on
    /// 127.0.0.1, exchange the code
    Authorize(AuthorizeArgs),
    /// The device authorization grant (RFC 8628): show a code to enter on another device, poll
    /// until it is approved
    Device(DeviceArgs),
    /// Client-initiated backchannel authentication (CIBA, poll mode): ask the server to
    /// authenticate a user on their own device, poll until they approve
    Ciba(CibaArgs),
    /// Ask the introspection endpoint about a token (RFC 7662)
    Introspect(IntrospectArgs),
    /// Revoke a token (RFC 7009)
    Revoke(RevokeArgs),
    /// Call the userinfo endpoint with an access token (OpenID Connect)
    Userinfo(UserinfoArgs),
    /// Show a JWT's header and claims (the signature is not verified)
    Decode(DecodeArgs),
    /// Manage profiles: saved server and client settings, with the secret in the OS keyring
    Profile(ProfileArgs),
    /// Register a new client (dynamic client registration, RFC 7591) and keep it for
    /// `grantline client`
    Register(RegisterArgs),
    /// Manage the clients registered with `grantline register` (RFC 7592): list, show, update,
    /// delete
    Client(ClientArgs),
    /// Log out at the OpenID provider (RP-initiated logout): build the end-session URL, open it
    /// in the browser and print it
    Logout(LogoutArgs),
    /// Send one request to a protected resource with the token (the profile's, renewed as
    /// needed), and print the response body
    Api(ApiArgs),
}

/// `grantline token`.
#[derive(Debug, Args)]
#[command(
    before_help = "Examples:\n  \
    grantline --issuer https://as.example --client-id svc token client-credentials --scope read\n  \
    grantline token --profile work                 # the cached token, renewed when needed\n  \
    grantline token --profile work | jq -r .access_token",
    after_help = "Output: the token response with `expires_at` (unix seconds) and `expires_in` (seconds left)."
)]
pub(crate) struct TokenArgs {
    /// The grant; without one, `--profile` is required and its cached token is printed
    #[command(subcommand)]
    pub(crate) grant: Option<GrantCommand>,
}

/// The token endpoint grants.
#[derive(Debug, Subcommand)]
pub(crate) enum GrantCommand {
    /// The client credentials grant (RFC 6749 §4.4)
    #[command(
        before_help = "Example:\n  grantline --issuer https://as.example --client-id svc --client-secret-file s.txt \\\n      token client-credentials --scope 'read write' --resource https://api.example/"
    )]
    ClientCredentials(GrantOptions),
    /// The refresh token grant (RFC 6749 §6)
    #[command(
        before_help = "Examples:\n  grantline --issuer https://as.example --client-id app token refresh \"$REFRESH_TOKEN\"\n  echo \"$REFRESH_TOKEN\" | grantline ... token refresh -\n  grantline token refresh --profile work        # the profile's cached refresh token"
    )]
    Refresh(RefreshArgs),
    /// The resource owner password grant (RFC 6749 §4.3; deprecated, for legacy servers)
    #[command(
        before_help = "Example:\n  GRANTLINE_PASSWORD=... grantline --issuer https://as.example --client-id app token password --username alice"
    )]
    Password(PasswordArgs),
    /// Token exchange (RFC 8693)
    #[command(
        before_help = "Example:\n  grantline --issuer https://as.example --client-id gw token exchange --subject-token \"$AT\" \\\n      --subject-token-type access_token --audience backend"
    )]
    Exchange(ExchangeArgs),
    /// The JWT bearer grant (RFC 7523)
    #[command(
        before_help = "Example:\n  grantline --issuer https://as.example --client-id svc token jwt-bearer --assertion @assertion.jwt"
    )]
    JwtBearer(JwtBearerArgs),
    /// Any other grant, named by its grant_type: an extension grant's absolute URI (RFC 6749
    /// §4.5), its parameters with --param
    #[command(
        before_help = "Example:\n  grantline --issuer https://as.example --client-id svc token custom \\\n      --grant-type urn:ietf:params:oauth:grant-type:jwt-bearer --param-file assertion=jwt.txt",
        after_help = "The grant type is an absolute URI (urn:..., https://...) or one of RFC 6749's names\n(authorization_code, client_credentials, password, refresh_token). The form holds\ngrant_type, then --scope, --resource, --audience, every --param and every --param-file, as given."
    )]
    Custom(CustomGrantArgs),
}

/// Options every token request takes.
#[derive(Debug, Args, Clone, Default)]
pub(crate) struct GrantOptions {
    /// Scope to ask for (repeatable, or space-separated)
    #[arg(long, value_name = "SCOPE")]
    pub(crate) scope: Vec<String>,
    /// Resource indicator, an absolute URI (RFC 8707; repeatable)
    #[arg(long, value_name = "URI")]
    pub(crate) resource: Vec<String>,
    /// Audience (repeatable)
    #[arg(long, value_name = "AUDIENCE")]
    pub(crate) audience: Vec<String>,
    /// Any other form parameter, as name=value (repeatable)
    #[arg(long, value_name = "NAME=VALUE", value_parser = parse_param)]
    pub(crate) param: Vec<(String, String)>,
}

/// `grantline token refresh`.
#[derive(Debug, Args)]
pub(crate) struct RefreshArgs {
    /// The refresh token: the value, `-` to read it from stdin, or `@PATH` to read a file;
    /// without it, the profile's cached refresh token
    #[arg(value_name = "REFRESH_TOKEN", allow_hyphen_values = true)]
    pub(crate) refresh_token: Option<SecretArg>,
    /// Options of every token request.
    #[command(flatten)]
    pub(crate) options: GrantOptions,
}

/// `grantline token password`.
#[derive(Debug, Args)]
pub(crate) struct PasswordArgs {
    /// The resource owner's username
    #[arg(long)]
    pub(crate) username: String,
    /// The password (prefer the environment variable; without either, it is asked for on the
    /// terminal without echo)
    #[arg(
        long,
        env = "GRANTLINE_PASSWORD",
        hide_env_values = true,
        allow_hyphen_values = true
    )]
    pub(crate) password: Option<Password>,
    /// Options of every token request.
    #[command(flatten)]
    pub(crate) options: GrantOptions,
}

/// `grantline token exchange`.
#[derive(Debug, Args)]
pub(crate) struct ExchangeArgs {
    /// The token to exchange: the value, `-` for stdin or `@PATH`
    #[arg(long, value_name = "TOKEN", allow_hyphen_values = true)]
    pub(crate) subject_token: SecretArg,
    /// Its type: access_token, refresh_token, id_token, jwt, saml1, saml2 or a full URN
    #[arg(long, value_name = "TYPE", default_value = "access_token")]
    pub(crate) subject_token_type: String,
    /// A token for the acting party: the value, `-` for stdin or `@PATH`
    #[arg(
        long,
        value_name = "TOKEN",
        requires = "actor_token_type",
        allow_hyphen_values = true
    )]
    pub(crate) actor_token: Option<SecretArg>,
    /// The actor token's type
    #[arg(long, value_name = "TYPE")]
    pub(crate) actor_token_type: Option<String>,
    /// The type of token wanted back
    #[arg(long, value_name = "TYPE")]
    pub(crate) requested_token_type: Option<String>,
    /// Options of every token request.
    #[command(flatten)]
    pub(crate) options: GrantOptions,
}

/// `grantline token jwt-bearer`.
#[derive(Debug, Args)]
pub(crate) struct JwtBearerArgs {
    /// The signed JWT assertion: the value, `-` for stdin or `@PATH`
    #[arg(long, value_name = "JWT", allow_hyphen_values = true)]
    pub(crate) assertion: SecretArg,
    /// Options of every token request.
    #[command(flatten)]
    pub(crate) options: GrantOptions,
}

/// `grantline token custom`.
#[derive(Debug, Args)]
pub(crate) struct CustomGrantArgs {
    /// The grant_type: an absolute URI, or a grant type name RFC 6749 registered
    #[arg(long, value_name = "URI")]
    pub(crate) grant_type: String,
    /// Options of every token request (its parameters with --param name=value).
    #[command(flatten)]
    pub(crate) options: GrantOptions,
    /// A parameter whose value is read from a file (trimmed; `-` reads stdin), as name=PATH
    /// (repeatable): for a secret such as an assertion, which --param would show in the
    /// process list
    #[arg(long, value_name = "NAME=PATH", value_parser = parse_param)]
    pub(crate) param_file: Vec<(String, String)>,
}

/// `grantline authorize`.
#[derive(Debug, Args)]
#[command(
    before_help = "Examples:\n  \
    grantline --issuer https://as.example --client-id cli authorize --scope 'openid profile'\n  \
    grantline --issuer https://as.example --client-id cli authorize --par --no-browser\n  \
    grantline ... authorize --paste --redirect-uri https://app.example/cb   # copy the URL back by hand",
    after_help = "Without --paste, a one-shot listener on 127.0.0.1 (the port of --redirect-uri, or a free one)\n\
    catches the browser's redirect. With --no-browser, or when stderr is not a terminal, the URL is\n\
    printed on stderr (also as an `authorization_url=URL` line when stderr is not a terminal)."
)]
pub(crate) struct AuthorizeArgs {
    /// Scope to ask for (repeatable, or space-separated)
    #[arg(long, value_name = "SCOPE")]
    pub(crate) scope: Vec<String>,
    /// The redirect URI; for the listener, http on 127.0.0.1, `[::1]` or localhost (port 0 or
    /// none picks a free port). Default: `http://127.0.0.1:<free port>/callback`
    #[arg(long, value_name = "URI")]
    pub(crate) redirect_uri: Option<String>,
    /// Push the request first (RFC 9126): the browser's URL carries only a request_uri
    #[arg(long)]
    pub(crate) par: bool,
    /// Do not open a browser: print the URL on stderr
    #[arg(long)]
    pub(crate) no_browser: bool,
    /// Do not listen: read the URL the browser was redirected to from stdin
    #[arg(long)]
    pub(crate) paste: bool,
    /// How long to wait for the browser's redirect, in seconds
    #[arg(long, value_name = "SECONDS", default_value_t = 300)]
    pub(crate) wait: u64,
    /// Resource indicator (RFC 8707; repeatable)
    #[arg(long, value_name = "URI")]
    pub(crate) resource: Vec<String>,
    /// `prompt` (none, login, consent, select_account)
    #[arg(long)]
    pub(crate) prompt: Option<String>,
    /// `login_hint`: who is expected to log in
    #[arg(long)]
    pub(crate) login_hint: Option<String>,
    /// Any other authorization request parameter, as name=value (repeatable)
    #[arg(long, value_name = "NAME=VALUE", value_parser = parse_param)]
    pub(crate) param: Vec<(String, String)>,
    /// `max_age`: the person must have signed in at most this many seconds ago; the ID token's
    /// `auth_time` is then required and checked (too old: exit code 12)
    #[arg(long, value_name = "SECONDS")]
    pub(crate) max_age: Option<u64>,
    /// Send the request as a JWT signed with the client's --private-key (JAR, RFC 9101): by
    /// value in the URL, or pushed with --par
    #[arg(long)]
    pub(crate) request_object: bool,
}

/// `grantline device`.
#[derive(Debug, Args)]
#[command(
    before_help = "Example:\n  \
    grantline --issuer https://as.example --client-id tv device --scope openid",
    after_help = "The user code and verification URI go to stderr (with a QR code when stderr is a terminal).\n\
    When stderr is not a terminal they are also printed as `user_code=CODE`, `verification_uri=URI`\n\
    and `verification_uri_complete=URI` lines, for scripts. The token goes to stdout."
)]
pub(crate) struct DeviceArgs {
    /// Scope to ask for (repeatable, or space-separated)
    #[arg(long, value_name = "SCOPE")]
    pub(crate) scope: Vec<String>,
    /// Any other device authorization parameter, as name=value (repeatable)
    #[arg(long, value_name = "NAME=VALUE", value_parser = parse_param)]
    pub(crate) param: Vec<(String, String)>,
    /// Never draw the QR code
    #[arg(long)]
    pub(crate) no_qr: bool,
}

/// `grantline ciba`.
#[derive(Debug, Args)]
#[command(before_help = "Example:\n  \
    grantline --issuer https://as.example --client-id desk --client-secret-file s.txt \\\n      \
    ciba --login-hint alice@example.com --binding-message W4SCT")]
#[command(group(clap::ArgGroup::new("hint").required(true).args(["login_hint", "login_hint_token", "id_token_hint"])))]
pub(crate) struct CibaArgs {
    /// Who to authenticate, as the server knows them
    #[arg(long)]
    pub(crate) login_hint: Option<String>,
    /// Who to authenticate, as a token (the value, `-` for stdin or `@PATH`)
    #[arg(long, value_name = "TOKEN", allow_hyphen_values = true)]
    pub(crate) login_hint_token: Option<SecretArg>,
    /// Who to authenticate, as an ID token they had (the value, `-` for stdin or `@PATH`)
    #[arg(long, value_name = "JWT", allow_hyphen_values = true)]
    pub(crate) id_token_hint: Option<SecretArg>,
    /// Scope (default: openid)
    #[arg(long, value_name = "SCOPE")]
    pub(crate) scope: Vec<String>,
    /// A short message shown on both devices
    #[arg(long)]
    pub(crate) binding_message: Option<String>,
    /// A code the user set up with the server
    #[arg(long, allow_hyphen_values = true)]
    pub(crate) user_code: Option<String>,
    /// Ask for the request to expire after this many seconds
    #[arg(long, value_name = "SECONDS")]
    pub(crate) requested_expiry: Option<u64>,
    /// `acr_values`
    #[arg(long)]
    pub(crate) acr_values: Option<String>,
    /// Any other parameter, as name=value (repeatable)
    #[arg(long, value_name = "NAME=VALUE", value_parser = parse_param)]
    pub(crate) param: Vec<(String, String)>,
}

/// A `token_type_hint`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub(crate) enum TokenHint {
    /// `access_token`.
    #[value(alias = "access_token")]
    AccessToken,
    /// `refresh_token`.
    #[value(alias = "refresh_token")]
    RefreshToken,
}

/// `grantline introspect`.
#[derive(Debug, Args)]
#[command(before_help = "Example:\n  \
    grantline --issuer https://as.example --client-id rs --client-secret-file s.txt introspect \"$AT\" | jq .active")]
pub(crate) struct IntrospectArgs {
    /// The token: the value, `-` to read stdin, or `@PATH`
    #[arg(allow_hyphen_values = true)]
    pub(crate) token: SecretArg,
    /// What kind of token it is
    #[arg(long, value_enum)]
    pub(crate) token_type_hint: Option<TokenHint>,
    /// Ask for a signed answer (RFC 9701, `application/token-introspection+jwt`) and verify
    /// it with the issuer's keys before printing it (needs --issuer)
    #[arg(long)]
    pub(crate) signed: bool,
}

/// `grantline revoke`.
#[derive(Debug, Args)]
#[command(before_help = "Example:\n  \
    grantline --issuer https://as.example --client-id app revoke --token-type-hint refresh_token \"$RT\"")]
pub(crate) struct RevokeArgs {
    /// The token: the value, `-` to read stdin, or `@PATH`
    #[arg(allow_hyphen_values = true)]
    pub(crate) token: SecretArg,
    /// What kind of token it is
    #[arg(long, value_enum)]
    pub(crate) token_type_hint: Option<TokenHint>,
}

/// `grantline userinfo`.
#[derive(Debug, Args)]
#[command(before_help = "Example:\n  \
    grantline --issuer https://as.example userinfo \"$ACCESS_TOKEN\" | jq .email\n  \
    grantline userinfo --profile work              # with the profile's cached token")]
pub(crate) struct UserinfoArgs {
    /// The access token: the value, `-` to read stdin, or `@PATH`; without it, the profile's
    /// cached token
    #[arg(allow_hyphen_values = true)]
    pub(crate) token: Option<SecretArg>,
    /// Accept a signed (application/jwt) answer: fetch the issuer's JWK Set and verify it
    /// (needs --issuer and --client-id)
    #[arg(long)]
    pub(crate) signed: bool,
    /// Refuse an answer about another user than this `sub` (the ID token's)
    #[arg(long, value_name = "SUB")]
    pub(crate) expect_subject: Option<String>,
}

/// `grantline decode`.
#[derive(Debug, Args)]
#[command(before_help = "Example:\n  \
    grantline decode eyJhbGciOi...   # or: grantline token ... | jq -r .id_token | grantline decode -")]
pub(crate) struct DecodeArgs {
    /// The JWT: the value, `-` to read stdin, or `@PATH`
    #[arg(allow_hyphen_values = true)]
    pub(crate) jwt: SecretArg,
}

/// `grantline profile`.
#[derive(Debug, Args)]
#[command(before_help = "Examples:\n  \
    grantline profile add work --issuer https://as.example --client-id svc --client-secret-file s.txt\n  \
    grantline profile list\n  \
    grantline token --profile work | jq -r .access_token")]
pub(crate) struct ProfileArgs {
    /// What to do with profiles.
    #[command(subcommand)]
    pub(crate) action: ProfileCommand,
}

/// Profile management.
#[derive(Debug, Subcommand)]
pub(crate) enum ProfileCommand {
    /// Save the server, client and connection options given on this command line as a profile
    #[command(
        before_help = "Examples:\n  \
        grantline profile add work --issuer https://as.example --client-id svc \\\n      \
        --client-secret-file secret.txt --grant client-credentials --scope read\n  \
        grantline profile add laptop --issuer https://as.example --client-id cli   # then: grantline authorize --profile laptop",
        after_help = "The profile lives in the configuration directory ($GRANTLINE_CONFIG_DIR, else the\n\
        platform's, e.g. ~/.config/grantline/profiles.json). The client secret goes to the OS\n\
        keyring where one answers, else to secrets.json, readable by the user only."
    )]
    Add(ProfileAddArgs),
    /// List the profiles
    #[command(before_help = "Example:\n  grantline profile list | jq -r '.[]'")]
    List,
    /// Show a profile's settings (never its secret)
    #[command(before_help = "Example:\n  grantline profile show work | jq .issuer")]
    Show {
        /// The profile's name
        name: String,
    },
    /// Delete a profile, its secret and its cached token
    #[command(before_help = "Example:\n  grantline profile remove work")]
    Remove {
        /// The profile's name
        name: String,
    },
}

/// `grantline profile add`.
#[derive(Debug, Args)]
pub(crate) struct ProfileAddArgs {
    /// The profile's name (letters, digits, `.`, `_` and `-`)
    pub(crate) name: String,
    /// The grant `grantline token --profile` runs when there is no usable token and no refresh
    /// token
    #[arg(long, value_enum)]
    pub(crate) grant: Option<ProfileGrant>,
    /// Default scope for the profile's token requests (repeatable)
    #[arg(long, value_name = "SCOPE")]
    pub(crate) scope: Vec<String>,
    /// Default resource indicators (repeatable)
    #[arg(long, value_name = "URI")]
    pub(crate) resource: Vec<String>,
    /// Default audiences (repeatable)
    #[arg(long, value_name = "AUDIENCE")]
    pub(crate) audience: Vec<String>,
    /// Default redirect URI for `authorize`
    #[arg(long, value_name = "URI")]
    pub(crate) redirect_uri: Option<String>,
    /// Where the client secret goes: the OS keyring, a file only you can read, or the keyring
    /// when one answers and the file otherwise
    #[arg(long, value_enum, env = "GRANTLINE_SECRET_STORE", default_value_t = SecretStoreChoice::Auto)]
    pub(crate) secret_store: SecretStoreChoice,
    /// Replace an existing profile of that name
    #[arg(long)]
    pub(crate) force: bool,
}

/// `grantline register`.
#[derive(Debug, Args)]
#[command(
    before_help = "Examples:\n  \
    grantline --issuer https://as.example register --initial-access-token-file iat.txt \\\n      \
    --client-name 'Build bot' --grant-type client_credentials --save-profile bot\n  \
    grantline token --profile bot | jq -r .access_token       # the new client, right away\n  \
    grantline register --registration-endpoint https://as.example/reg --name cli-app \\\n      \
    --redirect-uri http://127.0.0.1:8765/callback --grant-type authorization_code",
    after_help = "Output: the server's answer, client_secret and registration_access_token masked unless\n\
    --show-secrets. The client is kept (clients.json, secrets in the OS keyring or secrets.json)\n\
    for `grantline client`; when stderr is not a terminal, `client_id=ID` and `client=NAME` lines\n\
    follow. --auth-method sets token_endpoint_auth_method; other methods go through --field."
)]
pub(crate) struct RegisterArgs {
    /// The registration endpoint (default: the issuer's `registration_endpoint`, discovered)
    #[arg(long, value_name = "URL")]
    pub(crate) registration_endpoint: Option<String>,
    /// The initial access token (RFC 7591 §3); prefer --initial-access-token-file or the
    /// variable: a value on the command line shows in the process list
    #[arg(
        long,
        value_name = "TOKEN",
        allow_hyphen_values = true,
        env = "GRANTLINE_INITIAL_ACCESS_TOKEN",
        hide_env_values = true,
        conflicts_with = "initial_access_token_file"
    )]
    pub(crate) initial_access_token: Option<SecretArg>,
    /// Read the initial access token from this file (`-` reads stdin)
    #[arg(long, value_name = "PATH")]
    pub(crate) initial_access_token_file: Option<PathBuf>,
    /// The client's metadata.
    #[command(flatten)]
    pub(crate) metadata: MetadataArgs,
    /// Keep the client under this local name (letters, digits, `.`, `_`, `-`; default: client_id)
    #[arg(long, value_name = "NAME")]
    pub(crate) name: Option<String>,
    /// Also save the new client as this profile, for `grantline token --profile NAME`
    #[arg(long, value_name = "PROFILE")]
    pub(crate) save_profile: Option<String>,
    /// Print the client secret and the registration access token instead of masking them
    #[arg(long)]
    pub(crate) show_secrets: bool,
    /// Where the secrets go: the OS keyring, a file only you can read, or auto (the keyring
    /// when one answers)
    #[arg(long, value_enum, env = "GRANTLINE_SECRET_STORE", default_value_t = SecretStoreChoice::Auto)]
    pub(crate) secret_store: SecretStoreChoice,
}

/// Client metadata options (RFC 7591 §2), for `register` and `client update`.
#[derive(Debug, Args, Clone, Default)]
pub(crate) struct MetadataArgs {
    /// `redirect_uris` (repeatable)
    #[arg(long, value_name = "URI")]
    pub(crate) redirect_uri: Vec<String>,
    /// `grant_types` (repeatable): authorization_code, client_credentials, refresh_token, ...
    #[arg(long, value_name = "GRANT")]
    pub(crate) grant_type: Vec<String>,
    /// `response_types` (repeatable): code, ...
    #[arg(long, value_name = "TYPE")]
    pub(crate) response_type: Vec<String>,
    /// `client_name`
    #[arg(long, value_name = "NAME")]
    pub(crate) client_name: Option<String>,
    /// `scope`: the scopes the client may ask for (repeatable, or space-separated)
    #[arg(long, value_name = "SCOPE")]
    pub(crate) scope: Vec<String>,
    /// `jwks_uri`: where the client's public keys are
    #[arg(long, value_name = "URL", conflicts_with = "jwks")]
    pub(crate) jwks_uri: Option<String>,
    /// `jwks`: the client's public keys, a JWK Set read from this JSON file
    #[arg(long, value_name = "FILE")]
    pub(crate) jwks: Option<PathBuf>,
    /// `software_statement`: the JWT, `-` to read stdin, or `@PATH`
    #[arg(long, value_name = "JWT", allow_hyphen_values = true)]
    pub(crate) software_statement: Option<String>,
    /// Any other metadata field, as name=JSON (repeatable; a value that is not JSON is a string)
    #[arg(long, value_name = "NAME=JSON", value_parser = parse_param)]
    pub(crate) field: Vec<(String, String)>,
}

/// `grantline client`.
#[derive(Debug, Args)]
#[command(
    before_help = "Examples:\n  \
    grantline client list                     # the clients `grantline register` kept\n  \
    grantline client show bot                 # the server's current registration\n  \
    grantline client update bot --merge --client-name 'Build bot 2'\n  \
    grantline client delete bot",
    after_help = "RFC 7592 has no listing endpoint, so `list` shows only the clients registered from here."
)]
pub(crate) struct ClientArgs {
    /// What to do with registered clients.
    #[command(subcommand)]
    pub(crate) action: ClientCommand,
}

/// Management of registered clients (RFC 7592).
#[derive(Debug, Subcommand)]
pub(crate) enum ClientCommand {
    /// List the clients this command registered, from the local store (RFC 7592 has no listing
    /// endpoint: a server cannot be asked for its clients, so only those registered with
    /// `grantline register` on this machine are known)
    #[command(before_help = "Example:\n  grantline client list | jq -r '.[].client_id'")]
    List,
    /// Read a registered client's current registration from the server (RFC 7592 §2.1)
    #[command(
        before_help = "Example:\n  grantline client show bot | jq .redirect_uris",
        after_help = "The server's answer, client_secret and registration_access_token masked unless\n\
        --show-secrets. A registration access token the server rotated is stored."
    )]
    Show {
        /// The client's local name (see `grantline client list`)
        name: String,
        /// Print the client secret and the registration access token instead of masking them
        #[arg(long)]
        show_secrets: bool,
    },
    /// Replace a registered client's metadata (RFC 7592 §2.2: a full replacement; what is not
    /// given may be reset by the server, unless --merge)
    #[command(
        before_help = "Examples:\n  \
        grantline client update bot --merge --client-name 'Build bot 2'   # change one field\n  \
        grantline client update app --redirect-uri https://app.example/cb --grant-type authorization_code",
        after_help = "The server's answer is printed (secrets masked unless --show-secrets); a rotated client\n\
        secret or registration access token is stored (and the secret in the profile saved with\n\
        register --save-profile)."
    )]
    Update(Box<ClientUpdateArgs>),
    /// Delete a registered client at the server (RFC 7592 §2.3), then forget it locally
    #[command(before_help = "Examples:\n  grantline client delete bot\n  \
        grantline client delete old --local-only   # the server already forgot it")]
    Delete {
        /// The client's local name (see `grantline client list`)
        name: String,
        /// Only forget the client locally, without asking the server
        #[arg(long)]
        local_only: bool,
    },
}

/// `grantline client update`.
#[derive(Debug, Args)]
pub(crate) struct ClientUpdateArgs {
    /// The client's local name (see `grantline client list`)
    pub(crate) name: String,
    /// Start from the client's current metadata (read from the server first) and change only
    /// what is given here
    #[arg(long)]
    pub(crate) merge: bool,
    /// The new metadata.
    #[command(flatten)]
    pub(crate) metadata: MetadataArgs,
    /// Print the client secret and the registration access token instead of masking them
    #[arg(long)]
    pub(crate) show_secrets: bool,
}

/// `grantline logout`.
#[derive(Debug, Args)]
#[command(
    before_help = "Example:\n  grantline logout --profile laptop --post-logout-redirect-uri http://127.0.0.1:8765/bye",
    after_help = "The end-session endpoint comes from the issuer's metadata unless given. The URL is printed\n\
    on stdout as {\"logout_url\": URL}; the browser is opened unless --no-browser or stderr is\n\
    not a terminal. The provider asks the person to confirm; nothing is sent from here."
)]
pub(crate) struct LogoutArgs {
    /// The end-session endpoint (default: the issuer's `end_session_endpoint`)
    #[arg(long, value_name = "URL")]
    pub(crate) end_session_endpoint: Option<String>,
    /// The ID token to hint with: the value, `-` for stdin or `@PATH`; default: the profile's
    /// cached ID token
    #[arg(long, value_name = "JWT", allow_hyphen_values = true)]
    pub(crate) id_token_hint: Option<SecretArg>,
    /// Where the provider sends the browser after logout (registered for the client)
    #[arg(long, value_name = "URI")]
    pub(crate) post_logout_redirect_uri: Option<String>,
    /// A value the provider hands back on that redirect
    #[arg(long, allow_hyphen_values = true)]
    pub(crate) state: Option<String>,
    /// Which user to log out, when there is no ID token to hint with
    #[arg(long, value_name = "HINT")]
    pub(crate) logout_hint: Option<String>,
    /// Do not open a browser: only print the URL
    #[arg(long)]
    pub(crate) no_browser: bool,
    /// Also delete the profile's cached token (access, refresh and ID token) from this machine;
    /// it is not revoked (see `grantline revoke`)
    #[arg(long)]
    pub(crate) forget_token: bool,
}

/// `grantline api`.
#[derive(Debug, Args)]
#[command(
    before_help = "Examples:\n  grantline api GET https://api.example/v1/items --profile work\n  \
    grantline api POST https://api.example/v1/items --profile work \\\n      \
    --header 'Content-Type: application/json' --data @item.json",
    after_help = "The token goes only to https URLs (or http on loopback; elsewhere with --insecure-http). After\n\
    a 401 invalid_token it is renewed and the request sent once more. The body goes to stdout\n\
    (at most 16 MiB); a 4xx or 5xx status is also said on stderr and exits with code 15."
)]
pub(crate) struct ApiArgs {
    /// The HTTP method (GET, POST, PUT, PATCH, DELETE, ...)
    pub(crate) method: String,
    /// The resource's absolute URL
    pub(crate) url: String,
    /// A request header, as 'Name: value' (repeatable)
    #[arg(
        long,
        short = 'H',
        value_name = "NAME: VALUE",
        allow_hyphen_values = true
    )]
    pub(crate) header: Vec<SecretArg>,
    /// The request body: the text, `@PATH` for a file's bytes, or `-` for stdin
    #[arg(long, short = 'd', value_name = "BODY", allow_hyphen_values = true)]
    pub(crate) data: Option<SecretArg>,
    /// Print the status line and the response headers before the body
    #[arg(long, short = 'i')]
    pub(crate) include: bool,
    /// Without a profile: get the token with this grant and the client options
    #[arg(long, value_enum)]
    pub(crate) grant: Option<ProfileGrant>,
    /// Without a profile or grant: this access token (the value, `-` for stdin or `@PATH`),
    /// sent as a Bearer token as it is, never renewed
    #[arg(
        long,
        value_name = "TOKEN",
        allow_hyphen_values = true,
        conflicts_with = "grant"
    )]
    pub(crate) token: Option<SecretArg>,
    /// Options of the grant's token request.
    #[command(flatten)]
    pub(crate) options: GrantOptions,
}

/// The grant a profile renews its token with.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub(crate) enum ProfileGrant {
    /// The client credentials grant, run again whenever the token expired.
    ClientCredentials,
}

/// Where a profile's client secret is stored.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum, Default)]
pub(crate) enum SecretStoreChoice {
    /// The OS keyring when one answers, else the file.
    #[default]
    Auto,
    /// The OS keyring, or fail.
    Keyring,
    /// `secrets.json` in the configuration directory, readable by the user only.
    File,
}

/// Parses `name=value`.
fn parse_param(raw: &str) -> Result<(String, String), String> {
    match raw.split_once('=') {
        Some((name, value)) if !name.is_empty() => Ok((name.to_owned(), value.to_owned())),
        _ => Err(format!("`{raw}` is not name=value")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::CommandFactory;

    #[test]
    fn the_command_line_is_consistent() {
        Cli::command().debug_assert();
    }

    #[test]
    fn global_options_go_before_or_after_the_subcommand() {
        let before = crate::help::try_parse_from([
            "grantline",
            "--client-id",
            "x",
            "token",
            "client-credentials",
        ])
        .unwrap();
        let after = crate::help::try_parse_from([
            "grantline",
            "token",
            "client-credentials",
            "--client-id",
            "x",
        ])
        .unwrap();
        assert_eq!(before.global.client_id.as_deref(), Some("x"));
        assert_eq!(after.global.client_id.as_deref(), Some("x"));
    }

    #[test]
    fn params_are_name_value() {
        assert_eq!(
            parse_param("a=b=c").unwrap(),
            ("a".to_owned(), "b=c".to_owned())
        );
        assert!(parse_param("=x").is_err());
        assert!(parse_param("novalue").is_err());
    }

    #[test]
    fn the_secret_does_not_show_in_debug() {
        let cli = Cli::try_parse_from([
            "grantline",
            "--client-secret",
            "hunter2",
            "token",
            "client-credentials",
        ])
        .unwrap();
        assert!(!format!("{cli:?}").contains("hunter2"));
    }
}
