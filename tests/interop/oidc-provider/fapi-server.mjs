// A second oidc-provider test server for grantline's interop suite: the FAPI 2.0 Security
// Profile (features.fapi profile '2.0'), with the Message Signing parts on: JWT-secured
// authorization responses (JARM, features.jwtResponseModes), JWT introspection answers
// (RFC 9701, features.jwtIntrospection), required pushed and signed authorization requests.
//
// Like server.mjs: listens on 127.0.0.1 on a free port, prints one JSON line {"issuer": ...} when
// it is ready, and exits when its stdin closes. The profile applies to `fapi-client`, which
// authenticates with private_key_jwt (../keys/client-es256.private.jwk.json, public part) and
// gets DPoP-bound tokens; `jarm-client` (client_secret_basic, outside the profile) shows JARM and
// JWT introspection on their own. Everything the server signs is ES256.

import http from 'node:http';
import crypto from 'node:crypto';
import fs from 'node:fs';
import Provider from 'oidc-provider';

const here = new URL('.', import.meta.url);
const { d: _private, ...clientKey } = JSON.parse(fs.readFileSync(new URL('../keys/client-es256.private.jwk.json', here)));

const REDIRECT_URIS = ['http://127.0.0.1:9/callback'];
const FAPI_ALGS = ['PS256', 'ES256', 'EdDSA'];

const { privateKey } = crypto.generateKeyPairSync('ec', { namedCurve: 'P-256' });
const serverKey = { ...privateKey.export({ format: 'jwk' }), kid: 'server-es256-1', alg: 'ES256', use: 'sig' };

const config = {
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
  features: {
    fapi: { enabled: true, profile: (ctx, client) => (client?.clientId === 'fapi-client' ? '2.0' : undefined) },
    jwtResponseModes: { enabled: true },
    jwtIntrospection: { enabled: true },
    introspection: { enabled: true },
    requestObjects: { enabled: true },
    pushedAuthorizationRequests: { enabled: true },
    dPoP: { enabled: true },
  },
};

const server = http.createServer();
server.listen(0, '127.0.0.1', () => {
  const { port } = server.address();
  const issuer = `http://127.0.0.1:${port}`;
  const provider = new Provider(issuer, config);
  const callback = provider.callback();
  server.on('request', (req, res) => callback(req, res));
  process.stdout.write(`${JSON.stringify({ issuer })}\n`);
});

// Stop when the process that started us goes away.
process.stdin.on('end', () => process.exit(0));
process.stdin.on('error', () => process.exit(0));
process.stdin.resume();
