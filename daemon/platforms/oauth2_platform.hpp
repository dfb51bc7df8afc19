// The generic OAuth 2.0 platform: RFC 6749 (authorization code, refresh, client credentials),
// RFC 7636 PKCE S256, RFC 7009 revocation and RFC 8414 / OpenID Connect discovery.
//
// Everything that decides something is a pure function in namespace oauth2 (request builders,
// response parsers, error classification) so tests call it directly; OAuth2Platform only glues
// them to an HttpClient. Outcome::message never holds a response body verbatim nor a URL query:
// a provider may echo a token or a secret back in either.
#pragma once

#include <map>
#include <mutex>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "net/http_client.hpp"
#include "platforms/id_token_verifier.hpp"
#include "platforms/platform.hpp"
#include "platforms/platform_util.hpp"

namespace mediax {

namespace oauth2 {

using Form = std::vector<std::pair<std::string, std::string>>;

enum class Flow { authorization_code, refresh_token, client_credentials, revocation };

// PKCE is on unless the app's options say {"pkce": false}.
bool pkce_enabled(const App& app);

// Authorization request (RFC 6749 §4.1.1 + RFC 7636 §4.3). p.redirect_uri empty: app.redirect_uri.
std::string build_authorize_url(const App& app, const AuthorizeParams& p, bool pkce);

// A form POST to `url` with the app's client authentication (§2.3.1): client_secret_basic puts
// base64(urlencode(id):urlencode(secret)) in Authorization, client_secret_post (the default) puts both
// in the body; with no secret (a public client) only client_id goes in the body.
HttpClientRequest build_form_request(const App& app, const std::string& url, Form fields);

HttpClientRequest build_code_request(const App& app, const std::string& code, const std::string& code_verifier,
                                     const std::string& redirect_uri);
HttpClientRequest build_refresh_request(const App& app, const std::string& refresh_token);
HttpClientRequest build_client_credentials_request(const App& app);
// RFC 7009 §2.1: token + token_type_hint=refresh_token to app.endpoints.revocation_url.
HttpClientRequest build_revoke_request(const App& app, const std::string& refresh_token);

// Classifies any token endpoint answer (RFC 6749 §5.1 / §5.2). `now` resolves an HTTP-date Retry-After.
// `secrets` (what the request carried) are scrubbed from the provider's text before it is shortened.
Outcome parse_token_response(const HttpClientResponse& r, Flow flow, TimePoint now,
                             const std::vector<std::string>& secrets = {});
// Classifies a revocation endpoint answer (RFC 7009 §2.2).
Outcome parse_revoke_response(const HttpClientResponse& r, TimePoint now, const std::vector<std::string>& secrets = {});
// Classifies a non-success answer (transport error, non-2xx, 2xx with an "error" member).
Outcome classify_failure(const HttpClientResponse& r, Flow flow, TimePoint now,
                         const std::vector<std::string>& secrets = {});

// Retry-After as delta-seconds or an HTTP-date (RFC 9110 §10.2.3); shared with the other platforms.
using platform_util::parse_retry_after;

// The `sub` claim of a JWT, without checking its signature; "" when it is not a readable JWT.
std::string jwt_subject(const std::string& jwt);

// Replaces every occurrence of each secret in `text` with "[redacted]"; shared with the other platforms.
using platform_util::scrub;

// Discovery (RFC 8414 §3, OpenID Connect Discovery §4).
// The metadata URLs to try, in order: "{issuer}/.well-known/openid-configuration", then
// "https://host/.well-known/oauth-authorization-server{path}". Empty when the issuer is not an http(s) URL
// without query and fragment.
std::vector<std::string> discovery_urls(const std::string& issuer);

struct Discovery {
  Endpoints endpoints;
  std::vector<std::string> token_endpoint_auth_methods;  // as advertised; empty when absent
  std::vector<std::string> code_challenge_methods;       // as advertised; empty when absent
  std::string issuer;                                    // as the document spells it
  std::string jwks_uri;                                  // the id_token signing keys; empty when absent
  bool iss_parameter_supported = false;                  // authorization_response_iss_parameter_supported (RFC 9207)
  std::string error;                                     // empty on success
  bool ok() const { return error.empty(); }
};

// Validates one metadata document: JSON object, `issuer` equal to `issuer` (a trailing slash is
// tolerated), string http(s) authorization_endpoint and token_endpoint, optional revocation_endpoint.
Discovery parse_discovery_document(const std::string& body, const std::string& issuer);

}  // namespace oauth2

// Fetches the metadata, trying each of oauth2::discovery_urls(issuer) in turn.
oauth2::Discovery discover(HttpClient& http, const std::string& issuer);
// The same; on failure returns empty Endpoints and sets `error` to a message fit for the admin.
Endpoints discover_endpoints(HttpClient& http, const std::string& issuer, std::string& error);

class OAuth2Platform : public Platform {
 public:
  OAuth2Platform(HttpClient& http, PlatformSettings settings);

  std::string name() const override { return "oauth2"; }
  // Needs a client id and secret and a token endpoint, given or found by discovery at `issuer`.
  AppCheck prepare_app(App& app) override;
  bool uses_pkce(const App& app) const override;
  // Scopes, prompt (OpenID Connect's values) and login_hint; not include_granted_scopes (Google's).
  std::string check_authorize(const App& app, const AuthorizeParams& p) const override;
  std::string authorize_url(const App& app, const AuthorizeParams& p) const override;
  // For an app found by discovery whose provider publishes a jwks_uri, an id_token in the answer is
  // verified (signature, iss, aud, exp) and its sub becomes the account; one that fails is refused.
  Outcome exchange_code(const App& app, const std::string& code, const std::string& code_verifier,
                        const std::string& redirect_uri) override;
  // The option callback_iss (true/false, or the issuer string for an app with endpoints) decides;
  // without it, an app found by discovery requires iss when its metadata advertises
  // authorization_response_iss_parameter_supported, and a present iss must be the metadata's issuer.
  CallbackIssuer callback_issuer(const App& app) override;
  Outcome refresh(const App& app, const Grant& grant) override;
  // The reason changes nothing: every client credentials call issues a new token.
  Outcome client_token(const App& app, const AppTokenCall& call) override;
  Outcome revoke(const App& app, const Grant& grant) override;

 private:
  Outcome call(const HttpClientRequest& req, oauth2::Flow flow, const std::vector<std::string>& secrets);

  // The discovery document of `issuer`, fetched once and kept; nullopt and `error` when unreachable.
  std::optional<oauth2::Discovery> keys_of(const std::string& issuer, std::string& error);

  HttpClient& http_;
  [[maybe_unused]] PlatformSettings settings_;  // the generic dialect needs none yet
  IdTokenVerifier id_tokens_;
  std::mutex discovered_mu_;
  std::map<std::string, oauth2::Discovery> discovered_;
};

}  // namespace mediax
