// A second oidc-provider test server for grantline's interop suite: the FAPI 2.0 Security
// Profile (features.fapi profile '2.0'), with the Message Signing parts on: JWT-secured
// authorization responses (JARM, features.jwtResponseModes), JWT introspection answers
// (RFC 9701, features.jwtIntrospection), required pushed and signed authorization requests.
//
// Like server.mjs: listens on 127.0.0.1 on a free port, prints one JSON line {"issuer": ...} when
// it is ready, and exits when its stdin closes. The profile applies to `fapi-client`, which
// authenticates with private_key_jwt (../keys/client-es256.private.jwk.json, public part) and
// gets DPoP-bound tokens; `fapi-mtls-client` authenticates with its TLS certificate
// (tls_client_auth, ../keys/mtls/client.pem) and gets certificate-bound tokens, at a second,
// https listener that asks for a client certificate (the mTLS endpoint aliases); `jarm-client`
// (client_secret_basic, outside the profile) shows JARM and JWT introspection on their own.
// Everything the server signs is ES256. The ready line is {"issuer": ..., "mtls": <https base>}.

import http from 'node:http';
import https from 'node:https';
import crypto from 'node:crypto';
import fs from 'node:fs';
import Provider from 'oidc-provider';

const here = new URL('.', import.meta.url);
const { d: _private, ...clientKey } = JSON.parse(fs.readFileSync(new URL('../keys/client-es256.private.jwk.json', here)));

const REDIRECT_URIS = ['http://127.0.0.1:9/callback'];
const FAPI_CLIENTS = new Set(['fapi-client', 'fapi-mtls-client']);
const pki = (name) => fs.readFileSync(new URL(`../keys/mtls/${name}`, here));
const FAPI_ALGS = ['PS256', 'ES256', 'EdDSA'];

const { privateKey } = crypto.generateKeyPairSync('ec', { namedCurve: 'P-256' });
const serverKey = { ...privateKey.export({ format: 'jwk' }), kid: 'server-es256-1', alg: 'ES256', use: 'sig' };

const makeConfig = (mtls) => ({
  clients: [
    {
      client_id: 'fapi-client',
      token_endpoint_auth_method: 'private_key_jwt',
      token_endpoint_auth_signing_alg: 'ES256',
      jwks: { keys: [clientKey] },
      application_type: 'native',
      grant_types: ['authorization_code', 'refresh_token'],
      response_types: ['code'],
      redirect_uris: REDIRECT_URIS,
      require_signed_request_object: true,
      request_object_signing_alg: 'ES256',
      authorization_signed_response_alg: 'ES256',
      id_token_signed_response_alg: 'ES256',
      introspection_signed_response_alg: 'ES256',
      dpop_bound_access_tokens: true,
      require_pushed_authorization_requests: true,
    },
    {
      client_id: 'fapi-mtls-client',
      token_endpoint_auth_method: 'tls_client_auth',
      tls_client_auth_subject_dn: 'CN=fapi-mtls-client',
      tls_client_certificate_bound_access_tokens: true,
      application_type: 'native',
      grant_types: ['authorization_code', 'refresh_token'],
      response_types: ['code'],
      redirect_uris: REDIRECT_URIS,
      authorization_signed_response_alg: 'ES256',
      id_token_signed_response_alg: 'ES256',
      introspection_signed_response_alg: 'ES256',
      require_pushed_authorization_requests: true,
    },
    {
      client_id: 'jarm-client',
      client_secret: 'jarm-secret',
      token_endpoint_auth_method: 'client_secret_basic',
      application_type: 'native',
      grant_types: ['authorization_code', 'refresh_token'],
      response_types: ['code'],
      redirect_uris: REDIRECT_URIS,
      authorization_signed_response_alg: 'ES256',
      id_token_signed_response_alg: 'ES256',
      introspection_signed_response_alg: 'ES256',
    },
  ],
  clientAuthMethods: ['client_secret_basic', 'private_key_jwt', 'tls_client_auth'],
  jwks: { keys: [serverKey] },
  cookies: { keys: ['grantline-interop-fapi-cookie-key'] },
  findAccount: async (ctx, sub) => ({
    accountId: sub,
    claims: async () => ({ sub, name: `Test user ${sub}` }),
  }),
  claims: { openid: ['sub'], profile: ['name'] },
  scopes: ['openid', 'offline_access', 'profile'],
  issueRefreshToken: async (ctx, client) => client.grantTypeAllowed('refresh_token'),
  enabledJWA: {
    clientAuthSigningAlgValues: FAPI_ALGS,
    idTokenSigningAlgValues: FAPI_ALGS,
    requestObjectSigningAlgValues: FAPI_ALGS,
    introspectionSigningAlgValues: FAPI_ALGS,
    authorizationSigningAlgValues: FAPI_ALGS,
    userinfoSigningAlgValues: FAPI_ALGS,
  },
  discovery: {
    mtls_endpoint_aliases: {
      token_endpoint: `${mtls}/token`,
      pushed_authorization_request_endpoint: `${mtls}/request`,
      introspection_endpoint: `${mtls}/token/introspection`,
    },
  },
  features: {
    fapi: { enabled: true, profile: (ctx, client) => (FAPI_CLIENTS.has(client?.clientId) ? '2.0' : undefined) },
    mTLS: {
      enabled: true,
      tlsClientAuth: true,
      certificateBoundAccessTokens: true,
      // The https listener verified the certificate against the test CA; the http one has none.
      getCertificate: (ctx) => {
        const peer = ctx.socket?.getPeerCertificate?.();
        return peer?.raw ? new crypto.X509Certificate(peer.raw) : undefined;
      },
      certificateAuthorized: (ctx) => ctx.socket?.authorized === true,
      certificateSubjectMatches: (ctx, property, expected) => {
        const peer = ctx.socket?.getPeerCertificate?.();
        return property === 'tls_client_auth_subject_dn' && peer?.raw
          && new crypto.X509Certificate(peer.raw).subject === expected;
      },
    },
    jwtResponseModes: { enabled: true },
    jwtIntrospection: { enabled: true },
    introspection: { enabled: true },
    requestObjects: { enabled: true },
    pushedAuthorizationRequests: { enabled: true },
    dPoP: { enabled: true },
  },
});

// The mTLS listener first (its URL goes into the metadata), then the plain one (the issuer).
const mtlsServer = https.createServer({
  key: pki('server.key.pem'),
  cert: pki('server.pem'),
  ca: pki('ca.pem'),
  requestCert: true,
  rejectUnauthorized: true,
});
const server = http.createServer();
mtlsServer.listen(0, '127.0.0.1', () => {
  const mtls = `https://127.0.0.1:${mtlsServer.address().port}`;
  server.listen(0, '127.0.0.1', () => {
    const { port } = server.address();
    const issuer = `http://127.0.0.1:${port}`;
    const provider = new Provider(issuer, makeConfig(mtls));
    const callback = provider.callback();
    server.on('request', (req, res) => callback(req, res));
    mtlsServer.on('request', (req, res) => callback(req, res));
    process.stdout.write(`${JSON.stringify({ issuer, mtls })}\n`);
  });
});

// Stop when the process that started us goes away.
process.stdin.on('end', () => process.exit(0));
process.stdin.on('error', () => process.exit(0));
process.stdin.resume();
