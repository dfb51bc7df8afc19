// Google: standard OAuth 2.0 with Google's habits, and service accounts.
//
// - Authorization code with PKCE S256, access_type=offline and a prompt that always contains consent
//   (so every connection yields a refresh token), `openid` always asked for: the account is the
//   `sub` of the id_token, which is checked (RS256 with Google's JWKS, iss, aud, exp) before it is
//   trusted. include_granted_scopes, prompt (select_account) and login_hint as options and per
//   connection. Granular consent: the granted `scope` of every answer is compared with the app's
//   required scopes (granted_scopes.hpp). The token endpoint takes forms; a refresh answer has no
//   refresh token (the stored one is kept); invalid_grant means re-authorize. Revocation at the
//   revoke endpoint.
// - Client credentials are a service account: its JSON key (a secret) lives in app.client_secret;
//   the daemon signs an RS256 JWT and exchanges it with the JWT-bearer grant (RFC 7523).
//
// Builders and parsers are pure functions in namespace google, reusing the generic oauth2 ones;
// GooglePlatform glues them to an HttpClient.
#pragma once

#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <vector>

#include "crypto/jwt_verify.hpp"
#include "net/http_client.hpp"
#include "platforms/id_token_verifier.hpp"
#include "platforms/oauth2_platform.hpp"
#include "platforms/platform.hpp"

namespace mediax {

namespace google {

inline constexpr const char* kDefaultAuthUrl = "https://accounts.google.com/o/oauth2/v2/auth";
inline constexpr const char* kDefaultTokenUrl = "https://oauth2.googleapis.com/token";
inline constexpr const char* kDefaultRevokeUrl = "https://oauth2.googleapis.com/revoke";
inline constexpr const char* kDefaultJwksUrl = "https://www.googleapis.com/oauth2/v3/certs";
inline constexpr const char* kDefaultIssuer = "https://accounts.google.com";
inline constexpr const char* kJwtBearerGrant = "urn:ietf:params:oauth:grant-type:jwt-bearer";
// Google accepts assertions that live at most an hour.
inline constexpr std::int64_t kAssertionLifetime = 3600;
// iat is dated back this much so that a daemon clock slightly ahead of Google's is not refused.
inline constexpr std::int64_t kClockSkew = 10;

struct Urls {
  std::string auth_url = kDefaultAuthUrl;
  std::string token_url = kDefaultTokenUrl;
  std::string revoke_url = kDefaultRevokeUrl;
  std::string jwks_url = kDefaultJwksUrl;  // the keys that sign id_tokens
  std::string issuer = kDefaultIssuer;     // the id_tokens' iss
};
// settings.urls["google"]["auth_url"|"token_url"|"revoke_url"|"jwks_url"|"issuer"], the real ones
// where absent.
Urls urls_from(const PlatformSettings& settings);
// The iss values an id_token may carry: the configured issuer, and for Google's own also its
// scheme-less spelling "accounts.google.com" (both are issued, per Google's OpenID Connect page).
std::vector<std::string> accepted_issuers(const Urls& urls);

// The fields of a service-account key file the daemon uses.
struct ServiceAccountKey {
  std::string client_email;
  std::string private_key_id;  // JWT "kid"; may be empty
  std::string private_key;     // PEM
  std::string token_uri;       // informational: the assertion's aud is the token URL actually posted to
};
// Reads and checks a key file's JSON object: type "service_account", client_email, a readable RSA
// private_key. On a problem returns why ("service_account.FIELD: ..."), never quoting the key.
std::optional<std::string> parse_service_account_key(const nlohmann::json& key, ServiceAccountKey& out);

// app.options (checked strictly):
//   include_granted_scopes  bool: ask for incremental authorization
//   required_scopes         the scopes a grant must have to be complete (default: every scope of the app);
//                           a grant without some of them shows them as missing_scopes
//   prompt                  "select_account" and/or "consent"; consent is always sent (a refresh token is
//                           only issued on a consent screen), "none" is refused for the same reason
//   login_hint              the account (email or sub) Google offers first
//   service_account         at registration the key file's JSON object; prepare_app moves it into
//                           client_secret and keeps only {client_email, private_key_id, token_uri}
//   subject                 user to impersonate (domain-wide delegation), only with service_account
struct Options {
  bool include_granted_scopes = false;
  bool service_account = false;
  std::string subject;
  std::string prompt;
  std::string login_hint;
};
std::optional<std::string> parse_options(const nlohmann::json& options, Options& out);

// Checks a prompt (space-separated; only select_account and consent) and returns the one to send:
// the given values plus consent, in Google's order ("select_account consent"). On a bad value
// returns nullopt and sets `why`.
std::optional<std::string> effective_prompt(const std::string& prompt, std::string& why);
// The scopes to ask for: `scopes` with "openid" first (added when absent): the id_token names the account.
std::vector<std::string> with_openid(std::vector<std::string> scopes);

// Checks a new app and, for a service account, moves the key out of options into client_secret
// (serialized), fills client_id with client_email when empty and sets client_credentials.
AppCheck prepare(App& app);

// p's per-connection choices win over the app's options; see effective_prompt and with_openid.
std::string build_authorize_url(const Urls& urls, const App& app, const AuthorizeParams& p, const Options& o);
ClientRequest build_code_request(const Urls& urls, const App& app, const std::string& code,
                                 const std::string& code_verifier, const std::string& redirect_uri);
ClientRequest build_refresh_request(const Urls& urls, const App& app, const std::string& refresh_token);
// POST revoke_url, form token=... (Google needs no client authentication here).
ClientRequest build_revoke_request(const Urls& urls, const std::string& token);

// The assertion's header and claims: {"alg":"RS256","typ":"JWT","kid"} and {iss, scope (space-
// separated), aud, iat = now - kClockSkew, exp = iat + 3600, sub when subject is not empty}.
nlohmann::json assertion_header(const ServiceAccountKey& key);
nlohmann::json assertion_claims(const ServiceAccountKey& key, const std::vector<std::string>& scopes,
                                const std::string& audience, const std::string& subject, TimePoint now);
// POST token_url, form grant_type=urn:ietf:params:oauth:grant-type:jwt-bearer&assertion=JWT.
ClientRequest build_jwt_bearer_request(const std::string& token_url, const std::string& assertion);

// oauth2::parse_token_response with Google's codes: deleted_client, disabled_client, org_internal,
// redirect_uri_mismatch → app misconfigured; admin_policy_enforced → needs re-authorization;
// internal_failure and HTTP 408 → retry. For the service account (Flow::client_credentials)
// invalid_grant means the key, scope or subject is wrong: app misconfigured.
Outcome parse_token_response(const ClientResponse& r, oauth2::Flow flow, TimePoint now,
                             const std::vector<std::string>& secrets = {});

// What an id_token from Google must say to be believed: one of accepted_issuers, aud = client id.
crypto::JwtExpectations id_token_expectations(const Urls& urls, const App& app, TimePoint now);

}  // namespace google

class GooglePlatform : public Platform {
 public:
  GooglePlatform(HttpClient& http, PlatformSettings settings);

  std::string name() const override { return "google"; }
  AppCheck prepare_app(App& app) override;
  bool uses_pkce(const App&) const override { return true; }
  // Scopes, prompt, login_hint and include_granted_scopes; not for a service account.
  std::string check_authorize(const App& app, const AuthorizeParams& p) const override;
  // "" for a service-account app: it has no user to authorize.
  std::string authorize_url(const App& app, const AuthorizeParams& p) const override;
  // The answer's id_token is verified and its sub becomes the account; an answer without one, or
  // with one that fails a check, is refused (invalid_id_token / no_id_token).
  Outcome exchange_code(const App& app, const std::string& code, const std::string& code_verifier,
                        const std::string& redirect_uri) override;
  // Records the granted scopes' verdict (missing_scopes) when the answer names them.
  Outcome refresh(const App& app, const Grant& grant) override;
  // Signs a new assertion and exchanges it; the reason changes nothing (every call gives a new token).
  Outcome client_token(const App& app, const AppTokenCall& call) override;
  Outcome revoke(const App& app, const Grant& grant) override;

  const google::Urls& urls() const { return urls_; }

 private:
  Outcome call(const ClientRequest& req, oauth2::Flow flow, const std::vector<std::string>& secrets);

  HttpClient& http_;
  PlatformSettings settings_;
  google::Urls urls_;
  IdTokenVerifier id_tokens_;
};

}  // namespace mediax
