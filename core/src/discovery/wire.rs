//! The metadata document as sent (RFC 8414 §2, OpenID Connect Discovery §3), before it is
//! checked.

use serde::Deserialize;
use serde_json::{Map, Value};

use super::ServerMetadata;
use crate::error::InvalidResponse;

/// A metadata document's members, typed as the specifications type them; `null` counts as
/// absent, and every member no field models is kept in `extra`.
#[derive(Deserialize)]
pub(super) struct Document {
    issuer: Option<String>,
    authorization_endpoint: Option<String>,
    token_endpoint: Option<String>,
    jwks_uri: Option<String>,
    registration_endpoint: Option<String>,
    revocation_endpoint: Option<String>,
    introspection_endpoint: Option<String>,
    device_authorization_endpoint: Option<String>,
    pushed_authorization_request_endpoint: Option<String>,
    backchannel_authentication_endpoint: Option<String>,
    userinfo_endpoint: Option<String>,
    end_session_endpoint: Option<String>,
    scopes_supported: Option<Vec<String>>,
    response_types_supported: Option<Vec<String>>,
    response_modes_supported: Option<Vec<String>>,
    grant_types_supported: Option<Vec<String>>,
    code_challenge_methods_supported: Option<Vec<String>>,
    token_endpoint_auth_methods_supported: Option<Vec<String>>,
    token_endpoint_auth_signing_alg_values_supported: Option<Vec<String>>,
    revocation_endpoint_auth_methods_supported: Option<Vec<String>>,
    introspection_endpoint_auth_methods_supported: Option<Vec<String>>,
    id_token_signing_alg_values_supported: Option<Vec<String>>,
    userinfo_signing_alg_values_supported: Option<Vec<String>>,
    request_object_signing_alg_values_supported: Option<Vec<String>>,
    dpop_signing_alg_values_supported: Option<Vec<String>>,
    subject_types_supported: Option<Vec<String>>,
    claims_supported: Option<Vec<String>>,
    acr_values_supported: Option<Vec<String>>,
    ui_locales_supported: Option<Vec<String>>,
    backchannel_token_delivery_modes_supported: Option<Vec<String>>,
    claim_types_supported: Option<Vec<String>>,
    display_values_supported: Option<Vec<String>>,
    claims_locales_supported: Option<Vec<String>>,
    id_token_encryption_alg_values_supported: Option<Vec<String>>,
    id_token_encryption_enc_values_supported: Option<Vec<String>>,
    userinfo_encryption_alg_values_supported: Option<Vec<String>>,
    userinfo_encryption_enc_values_supported: Option<Vec<String>>,
    request_object_encryption_alg_values_supported: Option<Vec<String>>,
    request_object_encryption_enc_values_supported: Option<Vec<String>>,
    backchannel_authentication_request_signing_alg_values_supported: Option<Vec<String>>,
    require_pushed_authorization_requests: Option<bool>,
    authorization_response_iss_parameter_supported: Option<bool>,
    request_parameter_supported: Option<bool>,
    request_uri_parameter_supported: Option<bool>,
    require_signed_request_object: Option<bool>,
    claims_parameter_supported: Option<bool>,
    require_request_uri_registration: Option<bool>,
    frontchannel_logout_supported: Option<bool>,
    frontchannel_logout_session_supported: Option<bool>,
    backchannel_logout_supported: Option<bool>,
    backchannel_logout_session_supported: Option<bool>,
    backchannel_user_code_parameter_supported: Option<bool>,
    tls_client_certificate_bound_access_tokens: Option<bool>,
    check_session_iframe: Option<String>,
    service_documentation: Option<String>,
    op_policy_uri: Option<String>,
    op_tos_uri: Option<String>,
    mtls_endpoint_aliases: Option<Map<String, Value>>,
    #[serde(flatten)]
    extra: Map<String, Value>,
}

impl Document {
    /// Whether the document is an OAuth error object (a string `error` member) instead.
    pub(super) fn is_error(&self) -> bool {
        matches!(self.extra.get("error"), Some(Value::String(_)))
    }

    /// The metadata, once `issuer` is known to be there.
    pub(super) fn check(self) -> Result<ServerMetadata, InvalidResponse> {
        let issuer = match self.issuer {
            Some(issuer) if !issuer.is_empty() => issuer,
            Some(_) => return Err(InvalidResponse::new("issuer", "is empty")),
            None => return Err(InvalidResponse::new("issuer", "is missing")),
        };
        Ok(ServerMetadata {
            issuer,
            authorization_endpoint: self.authorization_endpoint,
            token_endpoint: self.token_endpoint,
            jwks_uri: self.jwks_uri,
            registration_endpoint: self.registration_endpoint,
            revocation_endpoint: self.revocation_endpoint,
            introspection_endpoint: self.introspection_endpoint,
            device_authorization_endpoint: self.device_authorization_endpoint,
            pushed_authorization_request_endpoint: self.pushed_authorization_request_endpoint,
            backchannel_authentication_endpoint: self.backchannel_authentication_endpoint,
            userinfo_endpoint: self.userinfo_endpoint,
            end_session_endpoint: self.end_session_endpoint,
            scopes_supported: self.scopes_supported.unwrap_or_default(),
            response_types_supported: self.response_types_supported.unwrap_or_default(),
            response_modes_supported: self.response_modes_supported.unwrap_or_default(),
            grant_types_supported: self.grant_types_supported.unwrap_or_default(),
            code_challenge_methods_supported: self
                .code_challenge_methods_supported
                .unwrap_or_default(),
            token_endpoint_auth_methods_supported: self
                .token_endpoint_auth_methods_supported
                .unwrap_or_default(),
            token_endpoint_auth_signing_alg_values_supported: self
                .token_endpoint_auth_signing_alg_values_supported
                .unwrap_or_default(),
            revocation_endpoint_auth_methods_supported: self
                .revocation_endpoint_auth_methods_supported
                .unwrap_or_default(),
            introspection_endpoint_auth_methods_supported: self
                .introspection_endpoint_auth_methods_supported
                .unwrap_or_default(),
            id_token_signing_alg_values_supported: self
                .id_token_signing_alg_values_supported
                .unwrap_or_default(),
            userinfo_signing_alg_values_supported: self
                .userinfo_signing_alg_values_supported
                .unwrap_or_default(),
            request_object_signing_alg_values_supported: self
                .request_object_signing_alg_values_supported
                .unwrap_or_default(),
            dpop_signing_alg_values_supported: self
                .dpop_signing_alg_values_supported
                .unwrap_or_default(),
            subject_types_supported: self.subject_types_supported.unwrap_or_default(),
            claims_supported: self.claims_supported.unwrap_or_default(),
            acr_values_supported: self.acr_values_supported.unwrap_or_default(),
            ui_locales_supported: self.ui_locales_supported.unwrap_or_default(),
            backchannel_token_delivery_modes_supported: self
                .backchannel_token_delivery_modes_supported
                .unwrap_or_default(),
            claim_types_supported: self.claim_types_supported.unwrap_or_default(),
            display_values_supported: self.display_values_supported.unwrap_or_default(),
            claims_locales_supported: self.claims_locales_supported.unwrap_or_default(),
            id_token_encryption_alg_values_supported: self
                .id_token_encryption_alg_values_supported
                .unwrap_or_default(),
            id_token_encryption_enc_values_supported: self
                .id_token_encryption_enc_values_supported
                .unwrap_or_default(),
            userinfo_encryption_alg_values_supported: self
                .userinfo_encryption_alg_values_supported
                .unwrap_or_default(),
            userinfo_encryption_enc_values_supported: self
                .userinfo_encryption_enc_values_supported
                .unwrap_or_default(),
            request_object_encryption_alg_values_supported: self
                .request_object_encryption_alg_values_supported
                .unwrap_or_default(),
            request_object_encryption_enc_values_supported: self
                .request_object_encryption_enc_values_supported
                .unwrap_or_default(),
            backchannel_authentication_request_signing_alg_values_supported: self
                .backchannel_authentication_request_signing_alg_values_supported
                .unwrap_or_default(),
            require_pushed_authorization_requests: self
                .require_pushed_authorization_requests
                .unwrap_or(false),
            authorization_response_iss_parameter_supported: self
                .authorization_response_iss_parameter_supported
                .unwrap_or(false),
            request_parameter_supported: self.request_parameter_supported.unwrap_or(false),
            // OpenID Connect Discovery §3: true when left out.
            request_uri_parameter_supported: self.request_uri_parameter_supported.unwrap_or(true),
            require_signed_request_object: self.require_signed_request_object.unwrap_or(false),
            claims_parameter_supported: self.claims_parameter_supported.unwrap_or(false),
            require_request_uri_registration: self
                .require_request_uri_registration
                .unwrap_or(false),
            frontchannel_logout_supported: self.frontchannel_logout_supported.unwrap_or(false),
            frontchannel_logout_session_supported: self
                .frontchannel_logout_session_supported
                .unwrap_or(false),
            backchannel_logout_supported: self.backchannel_logout_supported.unwrap_or(false),
            backchannel_logout_session_supported: self
                .backchannel_logout_session_supported
                .unwrap_or(false),
            backchannel_user_code_parameter_supported: self
                .backchannel_user_code_parameter_supported
                .unwrap_or(false),
            tls_client_certificate_bound_access_tokens: self
                .tls_client_certificate_bound_access_tokens
                .unwrap_or(false),
            check_session_iframe: self.check_session_iframe,
            service_documentation: self.service_documentation,
            op_policy_uri: self.op_policy_uri,
            op_tos_uri: self.op_tos_uri,
            mtls_endpoint_aliases: self.mtls_endpoint_aliases,
            extra: self.extra,
        })
    }
}
