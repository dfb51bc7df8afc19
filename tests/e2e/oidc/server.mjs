// oidc-provider harness for the mediaxd end-to-end tests: a real, certified OpenID Connect
// provider on 127.0.0.1 with two clients.
//
//   node server.mjs [--port N] [--redirect-uri URL]... [--web-secret S] [--service-secret S]
//                   [--web-auth-method client_secret_basic|client_secret_post] [--access-ttl SECONDS]
//
// Prints "LISTENING <port>" on stdout once bound; the issuer is http://127.0.0.1:<port>.
// Every option can also come from the environment (OIDC_PORT, OIDC_REDIRECT_URI, OIDC_WEB_SECRET,
// OIDC_SERVICE_SECRET, OIDC_WEB_AUTH_METHOD, OIDC_ACCESS_TTL).
//
// Clients:
//   mediax-web      authorization code + PKCE (required) + refresh tokens, rotated on every use
//   mediax-service  client_credentials
// GET /_harness/stats returns counters of successful token grants by grant type (no tokens).
import http from 'node:http';
import { parseArgs } from 'node:util';

import Provider, { errors } from 'oidc-provider';

const { values: args } = parseArgs({
  options: {
    port: { type: 'string', default: process.env.OIDC_PORT ?? '0' },
    'redirect-uri': {
      type: 'string',
      multiple: true,
      default: [process.env.OIDC_REDIRECT_URI ?? 'http://127.0.0.1:8080/oauth/callback'],
    },
    'web-secret': { type: 'string', default: process.env.OIDC_WEB_SECRET ?? 'mediax-web-dev-secret' },
    'service-secret': { type: 'string', default: process.env.OIDC_SERVICE_SECRET ?? 'mediax-service-dev-secret' },
    'web-auth-method': { type: 'string', default: process.env.OIDC_WEB_AUTH_METHOD ?? 'client_secret_basic' },
    'access-ttl': { type: 'string', default: process.env.OIDC_ACCESS_TTL ?? '5' },
  },
});

const accessTtl = Number.parseInt(args['access-ttl'], 10);
if (!Number.isInteger(accessTtl) || accessTtl < 1) {
  console.error('access-ttl must be a positive integer');
  process.exit(2);
}
const port = Number.parseInt(args.port, 10);
if (!Number.isInteger(port) || port < 0 || port > 65535) {
  console.error('port must be 0..65535');
  process.exit(2);
}

const stats = {
  authorization_code: 0,
  refresh_token: 0,
  client_credentials: 0,
  refresh_token_reuse_or_failure: 0,
  revocations: 0,
};

function configuration() {
  return {
    clients: [
      {
        client_id: 'mediax-web',
        client_secret: args['web-secret'],
        redirect_uris: args['redirect-uri'],
        grant_types: ['authorization_code', 'refresh_token'],
        response_types: ['code'],
        token_endpoint_auth_method: args['web-auth-method'],
        scope: 'openid offline_access profile',
      },
      {
        client_id: 'mediax-service',
        client_secret: args['service-secret'],
        redirect_uris: [],
        grant_types: ['client_credentials'],
        response_types: [],
        token_endpoint_auth_method: 'client_secret_post',
        scope: 'api:read api:write',
      },
    ],
    scopes: ['openid', 'offline_access', 'profile', 'api:read', 'api:write'],
    claims: { openid: ['sub'], profile: ['name'] },
    async findAccount(_ctx, sub) {
      return { accountId: sub, async claims() { return { sub, name: `User ${sub}` }; } };
    },
    cookies: { keys: ['mediax-e2e-cookie-key-not-secret'] },
    features: {
      devInteractions: { enabled: true },  // login with any name, then a consent page
      clientCredentials: { enabled: true },
      revocation: { enabled: true },
      introspection: { enabled: true },
      resourceIndicators: {
        enabled: true,
        // One API resource; tokens for it are opaque, like everything else here.
        async getResourceServerInfo(_ctx, resourceIndicator) {
          if (resourceIndicator !== 'urn:mediax:api') throw new errors.InvalidTarget();
          return { scope: 'api:read api:write', accessTokenFormat: 'opaque', accessTokenTTL: accessTtl };
        },
      },
    },
    pkce: { methods: ['S256'], required: () => true },
    // Refresh tokens for every code grant of a client allowed to refresh (offline_access makes them
    // outlive the login session), rotated on every use: the old one dies at once.
    async issueRefreshToken(_ctx, client) { return client.grantTypeAllowed('refresh_token'); },
    rotateRefreshToken: true,
    ttl: {
      AccessToken: accessTtl,
      ClientCredentials: accessTtl,
      AuthorizationCode: 60,
      IdToken: 3600,
      RefreshToken: 24 * 3600,
      Grant: 24 * 3600,
      Session: 24 * 3600,
      Interaction: 3600,
    },
  };
}

const server = http.createServer();
server.listen(port, '127.0.0.1', () => {
  const bound = server.address().port;
  const provider = new Provider(`http://127.0.0.1:${bound}`, configuration());

  provider.on('grant.success', (ctx) => {
    const grantType = ctx.oidc.params?.grant_type;
    if (grantType in stats) stats[grantType] += 1;
    console.error(`oidc: grant.success ${grantType}`);
  });
  provider.on('grant.error', (ctx, err) => {
    if (ctx.oidc.params?.grant_type === 'refresh_token') stats.refresh_token_reuse_or_failure += 1;
    console.error(`oidc: grant.error ${ctx.oidc.params?.grant_type} ${err.error ?? err.name}`);
  });
  provider.on('revocation.success', () => {
    stats.revocations += 1;
    console.error('oidc: revocation.success');
  });
  provider.on('server_error', (_ctx, err) => console.error('oidc: server_error', err));

  const handle = provider.callback();
  server.on('request', (req, res) => {
    if (req.method === 'GET' && req.url === '/_harness/stats') {
      res.writeHead(200, { 'content-type': 'application/json' });
      res.end(JSON.stringify(stats));
      return;
    }
    handle(req, res);
  });
  process.stdout.write(`LISTENING ${bound}\n`);
});

for (const signal of ['SIGTERM', 'SIGINT']) {
  process.on(signal, () => server.close(() => process.exit(0)));
}
