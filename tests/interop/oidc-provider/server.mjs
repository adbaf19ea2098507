// The oidc-provider test server for grantline's interop suite.
//
// Listens on 127.0.0.1 on a free port, prints one JSON line {"issuer": ...} on stdout when it is
// ready, and exits when its stdin closes (so it never outlives the test process that started
// it). Every feature grantline's flows need is on; the static clients cover every client
// authentication method. Test-only routes under /__test/ let a test play the person who approves
// a CIBA request. See ../../../../shared/peers.md for the facts this configuration relies on.

import http from 'node:http';
import https from 'node:https';
import crypto from 'node:crypto';
import fs from 'node:fs';
import Provider, { errors } from 'oidc-provider';

const here = new URL('.', import.meta.url);
const clientKey = JSON.parse(fs.readFileSync(new URL('../keys/client-rs256.public.jwk.json', here)));

const REDIRECT_URIS = ['http://127.0.0.1:9/callback', 'http://127.0.0.1:8765/callback'];
// Native clients (RFC 8252): oidc-provider then accepts a loopback redirect URI on any port
// (§7.3), so `grantline authorize` with its defaults (a free port) is accepted.
const NATIVE = 'native';
const TOKEN_EXCHANGE = 'urn:ietf:params:oauth:grant-type:token-exchange';
const JWT_BEARER = 'urn:ietf:params:oauth:grant-type:jwt-bearer';
// What the JWT bearer grant's tokens say they live for: short, so a test sees the token manager
// renew them (and the assertions they were bought with expire) in seconds.
const JWT_BEARER_TOKEN_TTL = 2;
const DEVICE = 'urn:ietf:params:oauth:grant-type:device_code';
const CIBA = 'urn:openid:params:grant-type:ciba';
export const API_RESOURCE = 'https://api.grantline.test/';

const ALL_GRANTS = ['authorization_code', 'refresh_token', 'client_credentials', DEVICE, CIBA, TOKEN_EXCHANGE, JWT_BEARER];

const confidential = (client_id, client_secret, method, extra = {}) => ({
  client_id,
  client_secret,
  token_endpoint_auth_method: method,
  application_type: NATIVE,
  grant_types: ALL_GRANTS,
  response_types: ['code'],
  redirect_uris: REDIRECT_URIS,
  post_logout_redirect_uris: ['http://127.0.0.1:9/logged-out'],
  backchannel_token_delivery_mode: 'poll',
  ...extra,
});

const clients = [
  // A secret with characters that need form-encoding in Basic authentication (RFC 6749 §2.3.1).
  confidential('basic-client', 'basic secret:+%/~!', 'client_secret_basic'),
  confidential('post-client', 'post-secret', 'client_secret_post'),
  confidential('jwt-client', 'jwt-secret-that-is-long-enough-for-hs256-0123456789', 'client_secret_jwt'),
  confidential('pkjwt-client', undefined, 'private_key_jwt', {
    jwks: { keys: [clientKey] },
    request_object_signing_alg: 'RS256',
  }),
  {
    client_id: 'public-client',
    token_endpoint_auth_method: 'none',
    application_type: NATIVE,
    grant_types: ['authorization_code', 'refresh_token', DEVICE],
    response_types: ['code'],
    redirect_uris: REDIRECT_URIS,
  },
];
// Basic authentication with a secret that form-encoding leaves as it is, so the raw encoding
// (`grantline --basic-encoding raw`, what Amazon Cognito expects) is understood too.
clients.push(confidential('raw-basic-client', 'raw-basic-secret_0123.abc', 'client_secret_basic'));

// mTLS (RFC 8705), when the test harness hands over its TLS material (GRANTLINE_MTLS: JSON with
// server_cert, server_key, ca and self_signed_cert, all PEM, made by rcgen for the run). The
// provider's endpoints are then also served over https with client certificates, named in the
// metadata's mtls_endpoint_aliases; the socket's peer certificate is the provider's
// getCertificate (in production a TLS terminator forwards it).
const mtls = process.env.GRANTLINE_MTLS ? JSON.parse(process.env.GRANTLINE_MTLS) : undefined;
if (mtls) {
  const selfSigned = new crypto.X509Certificate(mtls.self_signed_cert);
  const mtlsClient = (client_id, method, extra) => ({
    client_id,
    token_endpoint_auth_method: method,
    grant_types: ['client_credentials'],
    response_types: [],
    redirect_uris: [],
    tls_client_certificate_bound_access_tokens: true,
    ...extra,
  });
  clients.push(
    mtlsClient('mtls-pki-client', 'tls_client_auth', { tls_client_auth_subject_dn: 'CN=grantline-mtls-client' }),
    mtlsClient('mtls-self-signed-client', 'self_signed_tls_client_auth', {
      jwks: { keys: [{ ...selfSigned.publicKey.export({ format: 'jwk' }), x5c: [selfSigned.raw.toString('base64')] }] },
    }),
  );
}
// The peer certificate of an https request, PEM (none on plain http).
const peerCertificate = (ctx) => {
  const { socket } = ctx.req;
  if (typeof socket.getPeerCertificate !== 'function') return undefined;
  const peer = socket.getPeerCertificate();
  return peer && peer.raw ? new crypto.X509Certificate(peer.raw).toString() : undefined;
};
let mtlsAliases;

for (const c of clients) if (c.client_secret === undefined) delete c.client_secret;

// CIBA requests triggered and not yet decided, by login hint.
const cibaRequests = new Map();

// The server's signing keys, newest first: the first signs, all are published. A test can
// rotate them (/__test/rotate-keys), as a real server does.
const newSigningKey = (n) => {
  const { privateKey } = crypto.generateKeyPairSync('rsa', { modulusLength: 2048 });
  return { ...privateKey.export({ format: 'jwk' }), kid: `server-rs256-${n}`, alg: 'RS256', use: 'sig' };
};
let signingKeys = [newSigningKey(1)];
const dpopNonceSecret = crypto.randomBytes(32);

// A fresh configuration object for each Provider (the constructor takes ownership of it).
const makeConfig = () => ({
  clients: clients.map((c) => ({ ...c })),
  jwks: { keys: signingKeys.map((k) => ({ ...k })) },
  cookies: { keys: ['grantline-interop-cookie-key'] },
  findAccount: async (ctx, sub) => ({
    accountId: sub,
    claims: async () => ({ sub, name: `Test user ${sub}`, email: `${sub}@grantline.test`, email_verified: true }),
  }),
  claims: { openid: ['sub'], profile: ['name'], email: ['email', 'email_verified'] },
  scopes: ['openid', 'offline_access', 'profile', 'email', 'api:read', 'api:write'],
  // Refresh tokens whenever the client may use them (without the offline_access + consent dance).
  issueRefreshToken: async (ctx, client) => client.grantTypeAllowed('refresh_token'),
  ...(mtlsAliases ? { discovery: { mtls_endpoint_aliases: mtlsAliases } } : {}),
  // The five default methods and RFC 8705's two.
  clientAuthMethods: ['client_secret_basic', 'client_secret_jwt', 'client_secret_post', 'private_key_jwt', 'none',
    'tls_client_auth', 'self_signed_tls_client_auth'],
  features: {
    mTLS: {
      enabled: true,
      certificateBoundAccessTokens: true,
      tlsClientAuth: true,
      selfSignedTlsClientAuth: true,
      getCertificate: peerCertificate,
      // Chain verified against the CA by the https server (requestCert, ca).
      certificateAuthorized: (ctx) => ctx.req.socket.authorized === true,
      // The subject as an RFC 4514 string (Node lists the RDNs in certificate order).
      certificateSubjectMatches: (ctx, property, expected) => {
        const pem = peerCertificate(ctx);
        if (!pem || property !== 'tls_client_auth_subject_dn') return false;
        return new crypto.X509Certificate(pem).subject.split('\n').reverse().join(',') === expected;
      },
    },
    clientCredentials: { enabled: true },
    introspection: { enabled: true },
    revocation: { enabled: true },
    deviceFlow: { enabled: true },
    jwtUserinfo: { enabled: true },
    requestObjects: { enabled: true },
    registration: { enabled: true, initialAccessToken: 'grantline-initial-access-token' },
    registrationManagement: { enabled: true },
    dPoP: { enabled: true, nonceSecret: dpopNonceSecret, requireNonce: () => true },
    resourceIndicators: {
      enabled: true,
      useGrantedResource: () => true,
      getResourceServerInfo: async (ctx, resource) => {
        if (resource !== API_RESOURCE) throw new errors.InvalidTarget();
        return {
          scope: 'api:read api:write',
          audience: resource,
          accessTokenFormat: 'jwt',
          accessTokenTTL: 3600,
          jwt: { sign: { alg: 'RS256' } },
        };
      },
    },
    ciba: {
      enabled: true,
      deliveryModes: ['poll'],
      processLoginHint: async (ctx, loginHint) => loginHint,
      processLoginHintToken: async (ctx, loginHintToken) => loginHintToken,
      validateRequestContext: async () => {},
      verifyUserCode: async () => {},
      triggerAuthenticationDevice: async (ctx, request, account) => {
        cibaRequests.set(account.accountId, request.jti);
      },
    },
  },
});

// The JWT bearer grant (RFC 7523 §2.1, §3): an assertion signed with the key in
// ../keys/client-rs256.public.jwk.json, for this server (aud: the issuer or the token endpoint),
// unexpired, not issued in the future, and never seen before (jti).
const assertionKey = crypto.createPublicKey({ key: clientKey, format: 'jwk' });
const seenJtis = new Set();
const b64json = (part) => JSON.parse(Buffer.from(part, 'base64url').toString('utf8'));
const checkAssertion = (assertion, issuer) => {
  const parts = String(assertion ?? '').split('.');
  if (parts.length !== 3) throw new errors.InvalidGrant('assertion is not a JWS');
  const [h, p, sig] = parts;
  let header;
  let claims;
  try {
    header = b64json(h);
    claims = b64json(p);
  } catch {
    throw new errors.InvalidGrant('assertion is not a JWS');
  }
  if (header.alg !== 'RS256') throw new errors.InvalidGrant('assertion alg must be RS256');
  const valid = crypto.verify('RSA-SHA256', Buffer.from(`${h}.${p}`), assertionKey, Buffer.from(sig, 'base64url'));
  if (!valid) throw new errors.InvalidGrant('assertion signature invalid');
  const now = Math.floor(Date.now() / 1000);
  const audiences = [].concat(claims.aud ?? []);
  if (!audiences.includes(issuer) && !audiences.includes(`${issuer}/token`)) {
    throw new errors.InvalidGrant('assertion audience is not this server');
  }
  if (typeof claims.exp !== 'number' || claims.exp <= now) throw new errors.InvalidGrant('assertion expired');
  if (typeof claims.iat !== 'number' || claims.iat > now + 5) throw new errors.InvalidGrant('assertion issued in the future');
  if (typeof claims.jti !== 'string' || seenJtis.has(claims.jti)) throw new errors.InvalidGrant('assertion replayed (jti seen before)');
  if (typeof claims.sub !== 'string' || !claims.sub) throw new errors.InvalidGrant('assertion has no sub');
  seenJtis.add(claims.jti);
  return claims;
};

// Builds a Provider on the current keys, with the custom grants.
const makeProvider = (issuer) => {
  const provider = new Provider(issuer, makeConfig());

  // Token exchange (RFC 8693): not built in, so a small custom grant trades a valid access
  // token of this server for a new one.
  provider.registerGrantType(
    TOKEN_EXCHANGE,
    async (ctx) => {
      const { subject_token: subject, subject_token_type: type } = ctx.oidc.params;
      if (type !== 'urn:ietf:params:oauth:token-type:access_token') {
        throw new errors.InvalidRequest('unsupported subject_token_type');
      }
      const found = (await provider.AccessToken.find(subject)) ?? (await provider.ClientCredentials.find(subject));
      if (!found || found.isExpired) throw new errors.InvalidGrant('subject_token is not an active access token');
      const token = new provider.ClientCredentials({ client: ctx.oidc.client, scope: '' });
      const value = await token.save();
      ctx.body = {
        access_token: value,
        issued_token_type: 'urn:ietf:params:oauth:token-type:access_token',
        token_type: 'Bearer',
        expires_in: token.expiration,
      };
    },
    ['subject_token', 'subject_token_type', 'actor_token', 'actor_token_type', 'requested_token_type', 'audience', 'resource'],
  );

  // JWT bearer (RFC 7523): not built in either.
  provider.registerGrantType(
    JWT_BEARER,
    async (ctx) => {
      const claims = checkAssertion(ctx.oidc.params.assertion, issuer);
      const token = new provider.ClientCredentials({ client: ctx.oidc.client, scope: '' });
      const value = await token.save();
      ctx.body = {
        access_token: value,
        token_type: 'Bearer',
        expires_in: JWT_BEARER_TOKEN_TTL,
        // Which assertion bought it, so a test can tell renewals apart.
        assertion_jti: claims.jti,
        assertion_sub: claims.sub,
      };
    },
    ['assertion', 'scope'],
  );
  return provider;
};

// The https server of the mTLS endpoint aliases: it asks every client for a certificate and
// lets the provider decide (tls_client_auth needs one the CA signed, self_signed_tls_client_auth
// the registered one).
let mtlsHandler = (req, res) => {
  res.statusCode = 503;
  res.end();
};
let mtlsOrigin;
if (mtls) {
  const mtlsServer = https.createServer({
    cert: mtls.server_cert,
    key: mtls.server_key,
    ca: [mtls.ca],
    requestCert: true,
    rejectUnauthorized: false,
  });
  mtlsServer.on('request', (req, res) => mtlsHandler(req, res));
  await new Promise((resolve) => mtlsServer.listen(0, '127.0.0.1', resolve));
  mtlsOrigin = `https://127.0.0.1:${mtlsServer.address().port}`;
  mtlsAliases = Object.fromEntries(
    [['token_endpoint', '/token'], ['introspection_endpoint', '/token/introspection'],
      ['revocation_endpoint', '/token/revocation'], ['userinfo_endpoint', '/me']]
      .map(([name, path]) => [name, `${mtlsOrigin}${path}`]),
  );
}

const server = http.createServer();
server.listen(0, '127.0.0.1', () => {
  const { port } = server.address();
  const issuer = `http://127.0.0.1:${port}`;
  let provider = makeProvider(issuer);

  let callback = provider.callback();
  server.on('request', async (req, res) => {
    const url = new URL(req.url, issuer);
    if (url.pathname === '/__test/rotate-keys') {
      // A new signing key first; the old ones stay published, as during a real rotation.
      signingKeys = [newSigningKey(signingKeys.length + 1), ...signingKeys];
      provider = makeProvider(issuer);
      callback = provider.callback();
      res.setHeader('content-type', 'application/json');
      res.end(JSON.stringify({ kid: signingKeys[0].kid }));
      return;
    }
    if (url.pathname.startsWith('/__test/ciba/')) {
      const hint = url.searchParams.get('login_hint');
      const id = cibaRequests.get(hint);
      res.setHeader('content-type', 'application/json');
      if (!id) {
        res.statusCode = 404;
        res.end(JSON.stringify({ error: 'no pending CIBA request for that login_hint' }));
        return;
      }
      cibaRequests.delete(hint);
      try {
        if (url.pathname === '/__test/ciba/approve') {
          const clientId = url.searchParams.get('client_id');
          const grant = new provider.Grant({ accountId: hint, clientId });
          grant.addOIDCScope(url.searchParams.get('scope') || 'openid');
          await provider.backchannelResult(id, await grant.save());
        } else {
          await provider.backchannelResult(id, new errors.AccessDenied('the user denied the request'));
        }
        res.end(JSON.stringify({ ok: true }));
      } catch (e) {
        res.statusCode = 500;
        res.end(JSON.stringify({ error: String(e) }));
      }
      return;
    }
    callback(req, res);
  });
  mtlsHandler = (req, res) => callback(req, res);

  process.stdout.write(`${JSON.stringify({ issuer, api_resource: API_RESOURCE, mtls_origin: mtlsOrigin })}\n`);
});

// Stop when the process that started us goes away.
process.stdin.on('end', () => process.exit(0));
process.stdin.on('error', () => process.exit(0));
process.stdin.resume();
