//! The effective settings of one run: the command line over the profile, and the grantline
//! [`Client`] they describe.

use std::io::{BufRead as _, IsTerminal as _};
use std::path::{Path, PathBuf};
use std::time::Duration;

use grantline::Client;
use grantline::EndpointKind;
use grantline::client_auth::{ClientSecretBasic, ClientSecretJwt, PrivateKeyJwt, TlsClientAuth};
use grantline::discovery::{DiscoveryFlow, ServerMetadata};
use grantline::jose::{Algorithm, SigningKey};
use grantline::secret::ClientSecret;

use grantline::providers::{self, AuthServer, Preset, Tenant};

use crate::args::{AuthMethod, BasicEncoding, GlobalArgs, Provider, TransportKind};
use crate::backend::{Backend, Connection};
use crate::config::{ConfigDir, Profile, ProviderSettings};
use crate::error::CliError;
use crate::observe::Observed;
use crate::secrets;

/// The environment variable a client secret is read from when no option gives one.
pub(crate) const CLIENT_SECRET_ENV: &str = "GRANTLINE_CLIENT_SECRET";

/// Every endpoint option: its name in a profile, its kind, and the command-line value.
fn endpoint_options(args: &GlobalArgs) -> [(&'static str, EndpointKind, Option<&String>); 8] {
    [
        ("token", EndpointKind::Token, args.token_endpoint.as_ref()),
        (
            "authorization",
            EndpointKind::Authorization,
            args.authorization_endpoint.as_ref(),
        ),
        (
            "device_authorization",
            EndpointKind::DeviceAuthorization,
            args.device_authorization_endpoint.as_ref(),
        ),
        (
            "par",
            EndpointKind::PushedAuthorization,
            args.par_endpoint.as_ref(),
        ),
        (
            "backchannel_authentication",
            EndpointKind::BackchannelAuthentication,
            args.backchannel_authentication_endpoint.as_ref(),
        ),
        (
            "revocation",
            EndpointKind::Revocation,
            args.revocation_endpoint.as_ref(),
        ),
        (
            "introspection",
            EndpointKind::Introspection,
            args.introspection_endpoint.as_ref(),
        ),
        (
            "userinfo",
            EndpointKind::Userinfo,
            args.userinfo_endpoint.as_ref(),
        ),
    ]
}

/// The settings of this run.
#[derive(Debug, Clone)]
pub(crate) struct Settings {
    /// The issuer to discover, if any.
    pub(crate) issuer: Option<String>,
    /// Explicit endpoints (they win over discovered ones).
    pub(crate) endpoints: Vec<(EndpointKind, String)>,
    /// The client identifier.
    pub(crate) client_id: Option<String>,
    /// The client secret.
    pub(crate) client_secret: Option<ClientSecret>,
    /// The authentication method, if chosen.
    pub(crate) auth_method: Option<AuthMethod>,
    /// The private key file for `private_key_jwt`.
    pub(crate) private_key: Option<PathBuf>,
    /// The signing algorithm (`private_key_jwt` with a PEM key, `client_secret_jwt`).
    pub(crate) signing_alg: Option<String>,
    /// The private key's id.
    pub(crate) key_id: Option<String>,
    /// The transport.
    pub(crate) transport: TransportKind,
    /// The connection options.
    pub(crate) connection: Connection,
    /// Plain http allowed to hosts that are not loopback.
    pub(crate) insecure_http: bool,
    /// `--verbose`.
    pub(crate) verbose: bool,
    /// The profile in use, with its saved settings.
    pub(crate) profile: Option<(String, Profile)>,
    /// The DPoP key tokens are bound to (`--dpop`, `--dpop-key`, or the profile's).
    pub(crate) dpop: Option<grantline::dpop::DpopKey>,
    /// How `client_secret_basic` encodes the id and secret.
    pub(crate) basic_encoding: BasicEncoding,
    /// The FAPI 2.0 Security Profile (`--fapi2`, or the profile's).
    pub(crate) fapi2: bool,
    /// Signed authorization responses (`--jarm`, or the profile's).
    pub(crate) jarm: bool,
    /// The provider preset and its options (`--provider`).
    pub(crate) provider: ProviderSettings,
    /// Testing aid: where a preset's requests go instead of the provider's hosts.
    pub(crate) provider_origin: Option<String>,
}

/// The provider options the command line gave.
fn provider_args(args: &GlobalArgs) -> ProviderSettings {
    ProviderSettings {
        name: args.provider,
        tenant: args.tenant.clone(),
        domain: args.domain.clone(),
        auth_server: args.auth_server.clone(),
        server_url: args.server_url.clone(),
        realm: args.realm.clone(),
        user_pool: args.user_pool.clone(),
        team_id: args.team_id.clone(),
    }
}

impl Settings {
    /// The command line over the profile (if `--profile` was given).
    ///
    /// # Errors
    ///
    /// A configuration error for an unknown profile or an unreadable secret.
    pub(crate) fn resolve(args: &GlobalArgs, config: Option<&ConfigDir>) -> Result<Self, CliError> {
        let mut profile = match (&args.profile, config) {
            (Some(name), Some(config)) => Some((name.clone(), config.profile(name)?)),
            _ => None,
        };
        let dpop = crate::dpop::resolve(args, profile.as_mut(), config)?;
        let saved = profile.as_ref().map(|(_, p)| p);

        let mut endpoints = Vec::new();
        for (name, kind, given) in endpoint_options(args) {
            let value = given
                .cloned()
                .or_else(|| saved.and_then(|p| p.endpoints.get(name).cloned()));
            if let Some(url) = value {
                endpoints.push((kind, url));
            }
        }

        // The command line, then the environment, then the profile's stored secret.
        let from_env = std::env::var(CLIENT_SECRET_ENV)
            .ok()
            .filter(|s| !s.is_empty())
            .map(ClientSecret::new);
        let client_secret = match (&args.client_secret, &args.client_secret_file, from_env) {
            (Some(secret), _, _) => Some(secret.clone()),
            (None, Some(path), _) => Some(read_secret_file(path)?),
            (None, None, Some(secret)) => Some(secret),
            (None, None, None) => match (&profile, config) {
                (Some((name, p)), Some(config)) => match p.client_secret {
                    Some(location) => Some(secrets::load(config, name, location)?),
                    None => None,
                },
                _ => None,
            },
        };

        let timeout = args.timeout.or_else(|| saved.and_then(|p| p.timeout));
        // The certificate and its key go together: both from the command line, else both from
        // the profile.
        let client_cert = match (&args.client_cert, &args.client_key) {
            (Some(cert), Some(key)) => Some((cert.clone(), key.clone())),
            (None, None) => match saved.map(|p| (&p.client_cert, &p.client_key)) {
                Some((Some(cert), Some(key))) => Some((cert.clone(), key.clone())),
                Some((None, None)) | None => None,
                Some(_) => {
                    return Err(CliError::config(
                        "the profile has only one of client_cert and client_key: save it again with both --client-cert PATH and --client-key PATH",
                    ));
                }
            },
            _ => {
                return Err(CliError::config(
                    "--client-cert and --client-key go together: pass both (the certificate and its private key)",
                ));
            }
        };
        let ca_certs = if args.ca_cert.is_empty() {
            saved.map(|p| p.ca_cert.clone()).unwrap_or_default()
        } else {
            args.ca_cert.clone()
        };
        let provider = match saved {
            Some(p) => provider_args(args).or(&p.provider),
            None => provider_args(args),
        };
        let issuer = args
            .issuer
            .clone()
            .or_else(|| saved.and_then(|p| p.issuer.clone()));
        if let (Some(name), Some(_)) = (provider.name, &issuer) {
            return Err(CliError::config(format!(
                "both --provider {} and --issuer were given (on the command line or in the profile): the preset knows its issuer, so drop --issuer",
                provider_name(name)
            )));
        }
        Ok(Self {
            issuer,
            endpoints,
            client_id: args
                .client_id
                .clone()
                .or_else(|| saved.and_then(|p| p.client_id.clone())),
            client_secret,
            auth_method: args
                .auth_method
                .or_else(|| saved.and_then(|p| p.auth_method)),
            private_key: args
                .private_key
                .clone()
                .or_else(|| saved.and_then(|p| p.private_key.clone())),
            signing_alg: args
                .signing_alg
                .clone()
                .or_else(|| saved.and_then(|p| p.signing_alg.clone())),
            key_id: args
                .key_id
                .clone()
                .or_else(|| saved.and_then(|p| p.key_id.clone())),
            transport: args
                .transport
                .or_else(|| saved.and_then(|p| p.transport))
                .unwrap_or_else(TransportKind::default_kind),
            connection: Connection {
                ca_certs,
                proxy: args
                    .proxy
                    .clone()
                    .or_else(|| saved.and_then(|p| p.proxy.clone())),
                timeout: timeout.map(Duration::from_secs),
                time_scale: args.time_scale,
                client_cert,
            },
            insecure_http: args.insecure_http || saved.is_some_and(|p| p.insecure_http),
            verbose: args.verbose,
            basic_encoding: args
                .basic_encoding
                .or_else(|| saved.and_then(|p| p.basic_encoding))
                .unwrap_or(BasicEncoding::Form),
            fapi2: args.fapi2 || saved.is_some_and(|p| p.fapi2),
            jarm: args.jarm || saved.is_some_and(|p| p.jarm),
            profile,
            dpop,
            provider,
            provider_origin: args.provider_origin.clone(),
        })
    }

    /// The settings to save as a profile: what the command line gave.
    pub(crate) fn profile_from_args(args: &GlobalArgs) -> Profile {
        let mut endpoints = std::collections::BTreeMap::new();
        for (name, _, given) in endpoint_options(args) {
            if let Some(url) = given {
                endpoints.insert(name.to_owned(), url.clone());
            }
        }
        Profile {
            issuer: args.issuer.clone(),
            endpoints,
            client_id: args.client_id.clone(),
            auth_method: args.auth_method,
            private_key: args.private_key.as_deref().map(absolute),
            signing_alg: args.signing_alg.clone(),
            key_id: args.key_id.clone(),
            client_secret: None,
            transport: args.transport,
            ca_cert: args.ca_cert.iter().map(|p| absolute(p)).collect(),
            proxy: args.proxy.clone(),
            timeout: args.timeout,
            insecure_http: args.insecure_http,
            client_cert: args.client_cert.as_deref().map(absolute),
            client_key: args.client_key.as_deref().map(absolute),
            basic_encoding: args.basic_encoding,
            fapi2: args.fapi2,
            jarm: args.jarm,
            provider: provider_args(args),
            ..Profile::default()
        }
    }

    /// The profile's name, if one is in use.
    pub(crate) fn profile_name(&self) -> Option<&str> {
        self.profile.as_ref().map(|(name, _)| name.as_str())
    }

    /// The profile's saved settings, if one is in use.
    pub(crate) fn saved(&self) -> Option<&Profile> {
        self.profile.as_ref().map(|(_, p)| p)
    }

    /// The configured transport.
    ///
    /// # Errors
    ///
    /// A configuration error for an unusable CA file or proxy.
    pub(crate) fn backend(&self) -> Result<Backend, CliError> {
        Backend::new(self.transport, &self.connection)
    }

    /// Fetches and checks the issuer's metadata: OpenID Connect discovery first, RFC 8414 when
    /// the server has no OpenID configuration (a 404). Returns the metadata and the document as
    /// the server sent it.
    ///
    /// # Errors
    ///
    /// A configuration error without `--issuer`, and the discovery flow's errors.
    pub(crate) fn discover(
        &self,
        backend: &Backend,
    ) -> Result<(ServerMetadata, serde_json::Value), CliError> {
        if self.provider.name.is_some() {
            let preset = self.preset(self.client_id.as_deref().unwrap_or("grantline-cli"))?;
            let flow = preset.discovery()?.ok_or_else(|| {
                CliError::config(format!(
                    "{} publishes no metadata to discover: its endpoints are fixed, and --provider {} sets them",
                    preset.name(),
                    preset.name()
                ))
            })?;
            return self.run_discovery(backend, flow);
        }
        let issuer = self.issuer.as_deref().ok_or_else(|| {
            CliError::config("no issuer: pass --issuer URL (or use a profile that has one)")
        })?;
        let openid = self.run_discovery(backend, DiscoveryFlow::openid(issuer)?);
        match openid {
            Err(CliError::Flow(grantline::Error::UnexpectedResponse(e)))
                if e.status == http::StatusCode::NOT_FOUND =>
            {
                self.run_discovery(backend, DiscoveryFlow::oauth(issuer)?)
            }
            other => other,
        }
    }

    fn run_discovery(
        &self,
        backend: &Backend,
        flow: DiscoveryFlow,
    ) -> Result<(ServerMetadata, serde_json::Value), CliError> {
        let flow = if self.insecure_http {
            flow.insecure_http()
        } else {
            flow
        };
        let mut document = serde_json::Value::Null;
        let metadata = backend.run(Observed::new(flow, self.verbose), |flow, _| {
            if let Some(body) = flow.last_body() {
                document = serde_json::from_slice(body).unwrap_or_default();
            }
        })?;
        Ok((metadata, document))
    }

    /// The grantline client these settings describe (discovering the issuer's metadata first
    /// when there is one).
    ///
    /// # Errors
    ///
    /// A configuration error without a client id, for a secret with `--auth-method none` or
    /// a missing secret with `basic`/`post`, for a TLS client authentication method without
    /// `--client-cert` (or with a secret); discovery's errors; the builder's (an `http`
    /// endpoint without `--insecure-http`).
    pub(crate) fn client(&self, backend: &Backend) -> Result<Client, CliError> {
        let client_id = self.client_id.clone().ok_or_else(|| {
            CliError::config(
                "no client id: pass --client-id (or GRANTLINE_CLIENT_ID, or use a profile)",
            )
        })?;
        self.build_client(backend, client_id)
    }

    /// A client for calls that authenticate with a token, not as the client (userinfo): the
    /// client id when there is one, else a placeholder that is never sent.
    ///
    /// # Errors
    ///
    /// As [`client`](Self::client), except for a missing client id.
    pub(crate) fn client_for_token_calls(&self, backend: &Backend) -> Result<Client, CliError> {
        match &self.client_id {
            Some(id) => self.build_client(backend, id.clone()),
            None => Settings {
                client_secret: None,
                auth_method: None,
                ..self.clone()
            }
            .build_client(backend, "grantline-cli".to_owned()),
        }
    }

    fn build_client(&self, backend: &Backend, client_id: String) -> Result<Client, CliError> {
        let preset = match self.provider.name {
            Some(_) => Some(self.preset(&client_id)?),
            None => None,
        };
        let (mut builder, metadata) = match (&preset, &self.issuer) {
            (Some(preset), _) => {
                let metadata = match preset.discovery()? {
                    Some(flow) => Some(self.run_discovery(backend, flow)?.0),
                    None => None,
                };
                (preset.builder(metadata.as_ref())?, metadata)
            }
            (None, Some(_)) => {
                let (metadata, _) = self.discover(backend)?;
                // With a client certificate, requests go to the mTLS endpoint aliases (RFC
                // 8705 §5), except where an endpoint was given explicitly (set below: the
                // library keeps an endpoint set by hand).
                let builder = Client::from_metadata(client_id, &metadata);
                let builder = if self.connection.client_cert.is_some() {
                    builder.use_mtls_endpoint_aliases()
                } else {
                    builder
                };
                (builder, Some(metadata))
            }
            (None, None) => (Client::builder(client_id), None),
        };
        for (kind, url) in &self.endpoints {
            builder = builder.endpoint(*kind, url.clone());
        }
        if self.insecure_http {
            builder = builder.insecure_http();
        }
        if let Some(key) = &self.dpop {
            builder = builder.dpop(key.clone());
        }
        if self.fapi2 {
            builder = builder.fapi2();
        }
        if self.jarm {
            builder = builder.jarm();
        }
        // A preset authenticates its provider's way (set in `preset`) unless a method or a key
        // was chosen.
        if preset.is_some() && self.preset_authenticates() {
            return Ok(builder.build()?);
        }
        let method = match (self.auth_method, &self.client_secret) {
            (Some(method), _) => method,
            (None, _) if self.private_key.is_some() => AuthMethod::PrivateKeyJwt,
            (None, None) => AuthMethod::None,
            // client_secret_basic is the default (RFC 6749 §2.3.1), unless the server says it
            // only takes client_secret_post.
            (None, Some(_)) => match &metadata {
                Some(m)
                    if !m.token_endpoint_auth_methods_supported.is_empty()
                        && !m
                            .token_endpoint_auth_methods_supported
                            .iter()
                            .any(|x| x == "client_secret_basic")
                        && m.token_endpoint_auth_methods_supported
                            .iter()
                            .any(|x| x == "client_secret_post") =>
                {
                    AuthMethod::Post
                }
                _ => AuthMethod::Basic,
            },
        };
        builder = match (method, &self.client_secret) {
            (AuthMethod::Basic, Some(secret)) => builder.auth(
                ClientSecretBasic::new(secret.clone()).encoding(match self.basic_encoding {
                    BasicEncoding::Form => grantline::client_auth::BasicEncoding::FormUrlEncoded,
                    BasicEncoding::Raw => grantline::client_auth::BasicEncoding::Raw,
                }),
            ),
            (AuthMethod::Post, Some(secret)) => builder.client_secret_post(secret.clone()),
            (AuthMethod::ClientSecretJwt, Some(secret)) => {
                let mut auth = ClientSecretJwt::new(secret.clone());
                if let Some(alg) = &self.signing_alg {
                    auth = auth.algorithm(algorithm(alg)?);
                }
                builder.auth(auth)
            }
            (AuthMethod::PrivateKeyJwt, _) => builder.auth(PrivateKeyJwt::new(self.signing_key()?)),
            (AuthMethod::None, None) => builder,
            (AuthMethod::None, Some(_)) => {
                return Err(CliError::config(
                    "a client secret was given with --auth-method none: drop one of them",
                ));
            }
            (AuthMethod::TlsClientAuth | AuthMethod::SelfSignedTlsClientAuth, _)
                if self.connection.client_cert.is_none() =>
            {
                return Err(CliError::config(
                    "tls_client_auth and self_signed_tls_client_auth authenticate with the TLS client certificate: pass --client-cert PATH --client-key PATH",
                ));
            }
            (AuthMethod::TlsClientAuth | AuthMethod::SelfSignedTlsClientAuth, Some(_)) => {
                return Err(CliError::config(
                    "a client secret was given with a TLS client authentication method: drop one of them",
                ));
            }
            (AuthMethod::TlsClientAuth, None) => builder.auth(TlsClientAuth::pki()),
            (AuthMethod::SelfSignedTlsClientAuth, None) => {
                builder.auth(TlsClientAuth::self_signed())
            }
            (AuthMethod::Basic | AuthMethod::Post | AuthMethod::ClientSecretJwt, None) => {
                return Err(CliError::config(
                    "this authentication method needs a client secret: pass --client-secret-file PATH or set GRANTLINE_CLIENT_SECRET",
                ));
            }
        };
        Ok(builder.build()?)
    }
}

impl Settings {
    /// The `private_key_jwt` key: a JWK file, or a PEM file with `--signing-alg` (RS256 by
    /// default), with `--key-id` as its `kid`.
    pub(crate) fn signing_key(&self) -> Result<SigningKey, CliError> {
        self.signing_key_or(Algorithm::RS256)
    }

    /// The key, as [`signing_key`](Self::signing_key), with `default` as a PEM key's algorithm
    /// when `--signing-alg` is not given.
    fn signing_key_or(&self, default: Algorithm) -> Result<SigningKey, CliError> {
        let path = self.private_key.as_deref().ok_or_else(|| {
            CliError::config("private-key-jwt needs the key: pass --private-key PATH")
        })?;
        let text = std::fs::read_to_string(path).map_err(|e| {
            CliError::config(format!(
                "cannot read the private key {} (--private-key): {e}",
                path.display()
            ))
        })?;
        let key = if text.trim_start().starts_with('{') {
            let key = SigningKey::from_jwk(&text)?;
            match &self.signing_alg {
                Some(alg) => key.with_algorithm(algorithm(alg)?)?,
                None => key,
            }
        } else {
            let alg = match &self.signing_alg {
                Some(alg) => algorithm(alg)?,
                None => default,
            };
            SigningKey::from_pem(alg, &text)?
        };
        Ok(match &self.key_id {
            Some(kid) => key.with_key_id(kid.clone()),
            None => key,
        })
    }
}

impl Settings {
    /// Whether a preset's own client authentication is used: no --auth-method, and no
    /// --private-key (except for Apple, whose client secret is signed with it).
    fn preset_authenticates(&self) -> bool {
        self.auth_method.is_none()
            && (self.private_key.is_none() || self.provider.name == Some(Provider::Apple))
    }

    /// The `--provider` preset for `client_id`, with its options, its client authentication
    /// (the client secret sent the provider's way; Apple's signed client secret) and the
    /// testing origin.
    ///
    /// # Errors
    ///
    /// A configuration error naming the option a provider needs and did not get, and the
    /// preset's own (a malformed domain, realm or user pool id).
    pub(crate) fn preset(&self, client_id: &str) -> Result<Preset, CliError> {
        let p = &self.provider;
        let Some(name) = p.name else {
            return Err(CliError::Internal("no provider".to_owned()));
        };
        let need = |value: &Option<String>, option: &str, what: &str| {
            value.clone().ok_or_else(|| {
                CliError::config(format!(
                    "--provider {} needs {option}: {what}",
                    provider_name(name)
                ))
            })
        };
        let preset = match name {
            Provider::Github => providers::github(client_id),
            Provider::Google => providers::google(client_id),
            Provider::EntraId => {
                let tenant = need(
                    &p.tenant,
                    "--tenant",
                    "the tenant's id or domain, or common or organizations for a multi-tenant client",
                )?;
                providers::entra_id(Tenant::parse(&tenant), client_id)?
            }
            Provider::Auth0 => providers::auth0(
                &need(
                    &p.domain,
                    "--domain",
                    "the tenant's domain, as in acme.eu.auth0.com",
                )?,
                client_id,
            )?,
            Provider::Okta => {
                let domain = need(
                    &p.domain,
                    "--domain",
                    "the org's domain, as in acme.okta.com",
                )?;
                let server = match &p.auth_server {
                    Some(id) => AuthServer::Custom(id.clone()),
                    None => AuthServer::Org,
                };
                providers::okta(&domain, server, client_id)?
            }
            Provider::Keycloak => providers::keycloak(
                &need(&p.server_url, "--server-url", "the Keycloak server's URL")?,
                &need(&p.realm, "--realm", "the realm's name")?,
                client_id,
            )?,
            Provider::Cognito => providers::cognito(
                &need(
                    &p.user_pool,
                    "--user-pool",
                    "the user pool's id, as in eu-west-1_AbCdEf123",
                )?,
                client_id,
            )?,
            Provider::Apple => {
                let team = need(&p.team_id, "--team-id", "the Apple developer team's id")?;
                if self.private_key.is_none() || self.key_id.is_none() {
                    return Err(CliError::config(
                        "--provider apple signs its client secret with your Sign in with Apple key: pass --private-key PATH (the .p8 file) and --key-id KID",
                    ));
                }
                providers::apple(client_id, &team, self.signing_key_or(Algorithm::ES256)?)?
            }
        };
        let preset = match (&self.client_secret, name) {
            (Some(_), Provider::Apple) if self.preset_authenticates() => {
                return Err(CliError::config(
                    "--provider apple makes its client secret itself (a JWT signed with --private-key): drop the client secret",
                ));
            }
            (Some(secret), _) if self.preset_authenticates() => {
                preset.client_secret(secret.clone())
            }
            _ => preset,
        };
        Ok(match &self.provider_origin {
            Some(origin) => preset.origin(origin)?,
            None => preset,
        })
    }
}

/// A provider's name as `--provider` spells it.
fn provider_name(provider: Provider) -> &'static str {
    match provider {
        Provider::Github => "github",
        Provider::Google => "google",
        Provider::EntraId => "entra-id",
        Provider::Auth0 => "auth0",
        Provider::Okta => "okta",
        Provider::Keycloak => "keycloak",
        Provider::Cognito => "cognito",
        Provider::Apple => "apple",
    }
}

/// A path as a profile keeps it: absolute, so the profile works from any directory.
fn absolute(path: &Path) -> PathBuf {
    std::path::absolute(path).unwrap_or_else(|_| path.to_owned())
}

/// A JWS algorithm by name.
fn algorithm(name: &str) -> Result<Algorithm, CliError> {
    Algorithm::from_name(name).ok_or_else(|| {
        CliError::config(format!(
            "--signing-alg `{name}` is not a signing algorithm grantline knows (e.g. RS256, PS256, ES256, EdDSA; HS256 for client-secret-jwt)"
        ))
    })
}

/// The first line of a secret file (`-` reads stdin).
fn read_secret_file(path: &Path) -> Result<ClientSecret, CliError> {
    let text = if path == Path::new("-") {
        let mut line = String::new();
        std::io::stdin().lock().read_line(&mut line).map_err(|e| {
            CliError::config(format!("cannot read the client secret from stdin: {e}"))
        })?;
        line
    } else {
        std::fs::read_to_string(path).map_err(|e| {
            CliError::config(format!(
                "cannot read the client secret file {}: {e}",
                path.display()
            ))
        })?
    };
    let secret = text
        .lines()
        .next()
        .unwrap_or_default()
        .trim_end_matches('\r');
    if secret.is_empty() {
        return Err(CliError::config(format!(
            "the client secret file {} is empty",
            path.display()
        )));
    }
    Ok(ClientSecret::new(secret))
}

/// A token-like argument: the value itself, `-` for the first line of stdin, or `@PATH` for a
/// file's contents (trimmed).
///
/// # Errors
///
/// A configuration error when stdin or the file cannot be read, or the value is empty.
pub(crate) fn read_value(raw: &str, what: &str) -> Result<String, CliError> {
    let value = if raw == "-" {
        if std::io::stdin().is_terminal() {
            eprintln!("grantline: paste the {what} and press Enter:");
        }
        let mut line = String::new();
        std::io::stdin()
            .lock()
            .read_line(&mut line)
            .map_err(|e| CliError::config(format!("cannot read the {what} from stdin: {e}")))?;
        line.trim().to_owned()
    } else if let Some(path) = raw.strip_prefix('@') {
        std::fs::read_to_string(path)
            .map_err(|e| CliError::config(format!("cannot read the {what} from {path}: {e}")))?
            .trim()
            .to_owned()
    } else {
        raw.to_owned()
    };
    if value.is_empty() {
        return Err(CliError::config(format!("the {what} is empty")));
    }
    Ok(value)
}

/// Joins repeated `--scope` values into one space-separated scope.
pub(crate) fn join_scope(scopes: &[String]) -> Option<String> {
    let joined = scopes
        .iter()
        .flat_map(|s| s.split_whitespace())
        .collect::<Vec<_>>()
        .join(" ");
    (!joined.is_empty()).then_some(joined)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn scopes_are_joined() {
        assert_eq!(
            join_scope(&["openid profile".to_owned(), "email".to_owned()]).as_deref(),
            Some("openid profile email")
        );
        assert_eq!(join_scope(&[]), None);
    }

    #[test]
    fn values_come_from_files() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("t");
        std::fs::write(&path, "  tok\n").unwrap();
        assert_eq!(
            read_value(&format!("@{}", path.display()), "token").unwrap(),
            "tok"
        );
        assert_eq!(read_value("plain", "token").unwrap(), "plain");
        assert!(read_value("", "token").is_err());
        std::fs::write(&path, "first\nsecond\n").unwrap();
        assert_eq!(read_secret_file(&path).unwrap().secret(), "first");
    }

    #[test]
    fn the_command_line_wins_over_the_profile() {
        let dir = tempfile::tempdir().unwrap();
        let config = ConfigDir::locate_in(dir.path());
        let mut profiles = crate::config::Profiles::default();
        profiles.profiles.insert(
            "p".to_owned(),
            Profile {
                issuer: Some("https://saved.example".to_owned()),
                client_id: Some("saved".to_owned()),
                endpoints: [("token".to_owned(), "https://saved.example/t".to_owned())].into(),
                timeout: Some(7),
                ..Profile::default()
            },
        );
        config.save_profiles(&profiles).unwrap();
        let args = GlobalArgs {
            client_id: Some("given".to_owned()),
            profile: Some("p".to_owned()),
            ..GlobalArgs::default()
        };
        let settings = Settings::resolve(&args, Some(&config)).unwrap();
        assert_eq!(settings.client_id.as_deref(), Some("given"));
        assert_eq!(settings.issuer.as_deref(), Some("https://saved.example"));
        assert_eq!(settings.connection.timeout, Some(Duration::from_secs(7)));
        assert_eq!(
            settings.endpoints,
            vec![(EndpointKind::Token, "https://saved.example/t".to_owned())]
        );
    }

    #[test]
    fn a_profile_keeps_the_client_certificate_and_the_basic_encoding() {
        let dir = tempfile::tempdir().unwrap();
        let config = ConfigDir::locate_in(dir.path());
        let mut profiles = crate::config::Profiles::default();
        let saved = Profile {
            issuer: Some("https://saved.example".to_owned()),
            client_cert: Some(PathBuf::from("/keys/c.pem")),
            client_key: Some(PathBuf::from("/keys/c.key")),
            basic_encoding: Some(BasicEncoding::Raw),
            ..Profile::default()
        };
        profiles.profiles.insert("p".to_owned(), saved.clone());
        profiles.profiles.insert(
            "half".to_owned(),
            Profile {
                client_key: None,
                ..saved
            },
        );
        config.save_profiles(&profiles).unwrap();
        let args = |profile: &str| GlobalArgs {
            profile: Some(profile.to_owned()),
            ..GlobalArgs::default()
        };
        let settings = Settings::resolve(&args("p"), Some(&config)).unwrap();
        assert_eq!(
            settings.connection.client_cert,
            Some((PathBuf::from("/keys/c.pem"), PathBuf::from("/keys/c.key")))
        );
        assert_eq!(settings.basic_encoding, BasicEncoding::Raw);
        // Both from the command line win over both from the profile.
        let given = GlobalArgs {
            client_cert: Some(PathBuf::from("n.pem")),
            client_key: Some(PathBuf::from("n.key")),
            basic_encoding: Some(BasicEncoding::Form),
            ..args("p")
        };
        let settings = Settings::resolve(&given, Some(&config)).unwrap();
        assert_eq!(
            settings.connection.client_cert,
            Some((PathBuf::from("n.pem"), PathBuf::from("n.key")))
        );
        assert_eq!(settings.basic_encoding, BasicEncoding::Form);
        // A certificate without its key is refused.
        assert!(matches!(
            Settings::resolve(&args("half"), Some(&config)),
            Err(CliError::Config(_))
        ));
        // Without a profile: form encoding, no certificate.
        let settings = Settings::resolve(&GlobalArgs::default(), None).unwrap();
        assert_eq!(settings.basic_encoding, BasicEncoding::Form);
        assert_eq!(settings.connection.client_cert, None);
    }
}
