// Douyin (抖音开放平台): OAuth 2.0 in Douyin's dialect.
//
// - The client id is `client_key`; scopes are comma-separated; no PKCE.
// - Every answer is wrapped, {"data": {..., "error_code": N, "description": ...}, "message": ...},
//   errors come with HTTP 200 and numbers may be strings.
// - The refresh token lives 30 days and does not move when the access token is refreshed. It is
//   renewed at oauth/renew_refresh_token/ at most 5 times; the old one dies at once. The number
//   of renewals made is kept in grants.extra {"renewals": n}.
//
// The decisions are pure functions in namespace douyin; DouyinPlatform glues them to an HttpClient.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "platforms/http_client.hpp"
#include "platforms/platform.hpp"

namespace mediax {

namespace douyin {

enum class Flow { authorization_code, refresh_token, renew_refresh_token, client_token };

inline constexpr const char* kDefaultBaseUrl = "https://open.douyin.com";
// Douyin's documented numbers.
inline constexpr std::int64_t kRefreshTokenLifetime = 30LL * 24 * 3600;
inline constexpr int kMaxRenewals = 5;
// Renew when the refresh token has less than this left. It must be longer than the time between two
// refreshes, which is at most the access token's lifetime (15 days): a shorter window could let the
// refresh token die between two refreshes.
inline constexpr std::int64_t kDefaultRenewWindow = 16LL * 24 * 3600;

// app.options, all optional:
//   renew_window_seconds  integer 60..2592000   renew when the refresh token expires within this
//   max_renewals          integer 0..100        renewals Douyin allows (documented: 5; 0: never renew)
//   client_token          "client_token" | "stable_client_token"   endpoint for the app's own token
struct Options {
  Seconds renew_window{kDefaultRenewWindow};
  int max_renewals = kMaxRenewals;
  bool stable_client_token = false;
};
// Reads and checks app.options; on a problem returns "options.X: why" and leaves `out` unspecified.
std::optional<std::string> parse_options(const nlohmann::json& options, Options& out);

std::string build_authorize_url(const std::string& base_url, const App& app, const AuthorizeParams& p);
// POST oauth/access_token/, form: client_key, client_secret, code, grant_type=authorization_code.
HttpRequest build_code_request(const std::string& base_url, const App& app, const std::string& code);
// POST oauth/refresh_token/, form: client_key, grant_type=refresh_token, refresh_token (no secret).
HttpRequest build_refresh_request(const std::string& base_url, const App& app, const std::string& refresh_token);
// POST oauth/renew_refresh_token/, form: client_key, refresh_token.
HttpRequest build_renew_request(const std::string& base_url, const App& app, const std::string& refresh_token);
// POST oauth/client_token/ (or oauth/stable_client_token/), JSON: client_key, client_secret, grant_type.
HttpRequest build_client_token_request(const std::string& base_url, const App& app, bool stable);

// The class of a Douyin error_code on a given call (platforms.md's table).
OutcomeKind kind_for_error_code(std::int64_t code, Flow flow);

// Classifies any answer of the OAuth endpoints. On success: open_id becomes account_id, the
// renewal's new refresh token comes in refresh_token with its expires_in in refresh_expires_in.
// `secrets` (what the request carried) are scrubbed from Douyin's text.
Outcome parse_response(const HttpResponse& r, Flow flow, TimePoint now, const std::vector<std::string>& secrets = {});

// Renewals made so far, from grant.extra["renewals"] (number or string); 0 when absent.
int renewals_of(const Grant& grant);

// What refresh() must do about the refresh token before it can expire.
struct RenewPlan {
  enum class Action { none, renew, exhausted };
  Action action = Action::none;
  int renewals = 0;  // made so far
};
// renew: the refresh token expires within the window and renewals are left; exhausted: it expires
// within the window and none are left; none: otherwise, or when its expiry is unknown.
RenewPlan plan_renewal(const Grant& grant, const Options& options, TimePoint now);

}  // namespace douyin

class DouyinPlatform : public Platform {
 public:
  // settings.urls["douyin"]["base_url"] overrides https://open.douyin.com.
  DouyinPlatform(HttpClient& http, PlatformSettings settings);

  std::string name() const override { return "douyin"; }
  // client_id (client_key) and client_secret are required; options as in douyin::Options.
  AppCheck prepare_app(App& app) override;
  bool uses_pkce(const App&) const override { return false; }
  std::string authorize_url(const App& app, const AuthorizeParams& p) const override;
  Outcome exchange_code(const App& app, const std::string& code, const std::string& code_verifier,
                        const std::string& redirect_uri) override;
  // Refreshes the access token and, when the refresh token nears its end, renews it (see .cpp).
  Outcome refresh(const App& app, const Grant& grant) override;
  // The reason changes nothing: each client_token call issues a new token (stable_client_token: the
  // same one while it is valid).
  Outcome client_token(const App& app, const AppTokenCall& call) override;
  // Douyin has no revocation endpoint for the app: the user revokes in the Douyin app.
  Outcome revoke(const App& app, const Grant& grant) override;

  const std::string& base_url() const { return base_url_; }

 private:
  Outcome call(const HttpRequest& req, douyin::Flow flow, const std::vector<std::string>& secrets);

  HttpClient& http_;
  PlatformSettings settings_;
  std::string base_url_;
};

}  // namespace mediax
