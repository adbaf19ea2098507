//! TLS material for oidc-provider's mTLS endpoints (RFC 8705), made with rcgen for each test
//! process: nothing is committed, nothing outlives the run.
//!
//! - A CA that signs the server's certificate (for 127.0.0.1) and the certificate of the
//!   `tls_client_auth` client, `CN=grantline-mtls-client`.
//! - A self-signed certificate registered (as the `x5c` of a JWK) with the
//!   `self_signed_tls_client_auth` client.
//! - A stranger: self-signed, with the same subject as the CA-signed client certificate, known
//!   to no client. Every client must refuse it.

/// A client certificate and its private key.
#[derive(Debug, Clone)]
pub struct ClientCertificate {
    /// The certificate, PEM.
    pub cert_pem: String,
    /// Its private key, PEM (PKCS#8). A throwaway test key.
    pub key_pem: String,
    /// The certificate, DER (its SHA-256 is the `x5t#S256` a bound token carries).
    pub der: Vec<u8>,
}

/// Everything the mTLS tests and the server need.
#[derive(Debug, Clone)]
pub struct MtlsMaterial {
    /// The CA that signed the server's and the `tls_client_auth` client's certificates, PEM:
    /// trust it to reach the mTLS endpoints.
    pub ca_pem: String,
    /// The `tls_client_auth` client's certificate, signed by the CA.
    pub pki_client: ClientCertificate,
    /// The `self_signed_tls_client_auth` client's registered certificate.
    pub self_signed_client: ClientCertificate,
    /// A self-signed certificate with the PKI client's subject, registered nowhere.
    pub stranger: ClientCertificate,
    /// The server's certificate and key, PEM.
    pub(crate) server: (String, String),
}

/// The subject of the `tls_client_auth` client's certificate (and of the stranger's).
pub const PKI_CLIENT_SUBJECT: &str = "grantline-mtls-client";

impl MtlsMaterial {
    /// Makes fresh material.
    ///
    /// # Panics
    ///
    /// When rcgen fails (it does not, for these fixed parameters).
    pub(crate) fn generate() -> Self {
        let mut ca_params = rcgen::CertificateParams::new(Vec::<String>::new()).expect("CA params");
        ca_params.is_ca = rcgen::IsCa::Ca(rcgen::BasicConstraints::Unconstrained);
        ca_params.key_usages = vec![
            rcgen::KeyUsagePurpose::KeyCertSign,
            rcgen::KeyUsagePurpose::CrlSign,
            rcgen::KeyUsagePurpose::DigitalSignature,
        ];
        ca_params
            .distinguished_name
            .push(rcgen::DnType::CommonName, "grantline interop mTLS CA");
        let ca_key = rcgen::KeyPair::generate().expect("CA key");
        let ca = rcgen::CertifiedIssuer::self_signed(ca_params, ca_key).expect("CA");

        let mut server_params =
            rcgen::CertificateParams::new(vec!["127.0.0.1".to_owned(), "localhost".to_owned()])
                .expect("server params");
        server_params
            .distinguished_name
            .push(rcgen::DnType::CommonName, "127.0.0.1");
        server_params.extended_key_usages = vec![rcgen::ExtendedKeyUsagePurpose::ServerAuth];
        let server_key = rcgen::KeyPair::generate().expect("server key");
        let server = server_params
            .signed_by(&server_key, &ca)
            .expect("server certificate");

        let client_params = |name: &str| {
            let mut params = rcgen::CertificateParams::new(Vec::<String>::new()).expect("params");
            params
                .distinguished_name
                .push(rcgen::DnType::CommonName, name);
            params.extended_key_usages = vec![rcgen::ExtendedKeyUsagePurpose::ClientAuth];
            params
        };
        let done = |cert: rcgen::Certificate, key: rcgen::KeyPair| ClientCertificate {
            cert_pem: cert.pem(),
            key_pem: key.serialize_pem(),
            der: cert.der().to_vec(),
        };
        let key = rcgen::KeyPair::generate().expect("client key");
        let pki_client = done(
            client_params(PKI_CLIENT_SUBJECT)
                .signed_by(&key, &ca)
                .expect("client certificate"),
            key,
        );
        let key = rcgen::KeyPair::generate().expect("client key");
        let self_signed_client = done(
            client_params("grantline-self-signed-client")
                .self_signed(&key)
                .expect("self-signed certificate"),
            key,
        );
        let key = rcgen::KeyPair::generate().expect("client key");
        let stranger = done(
            client_params(PKI_CLIENT_SUBJECT)
                .self_signed(&key)
                .expect("stranger certificate"),
            key,
        );
        Self {
            ca_pem: ca.pem(),
            pki_client,
            self_signed_client,
            stranger,
            server: (server.pem(), server_key.serialize_pem()),
        }
    }

    /// What the server needs, as the JSON of its `GRANTLINE_MTLS` variable: its certificate and
    /// key, the CA it trusts for `tls_client_auth`, and the self-signed client's certificate.
    pub(crate) fn server_json(&self) -> String {
        serde_json::json!({
            "server_cert": self.server.0,
            "server_key": self.server.1,
            "ca": self.ca_pem,
            "self_signed_cert": self.self_signed_client.cert_pem,
        })
        .to_string()
    }
}
