// Douyin (抖音开放平台): OAuth 2.0 in Douyin's dialect.
//
// - The client id is `client_key`; scopes are comma-separated; no PKCE.
// - Every answer is wrapped, {"data": {..., "error_code": N, "description": ...}, "message": ...},
//   errors come with HTTP 200 and numbers may be strings.
// - The access token lives 15 days and is refreshed on its own schedule (RefreshPolicy). The
//   refresh token lives 30 days from its issue and refreshing does not move that; only
//   oauth/renew_refresh_token/ gives a new one, 30 days from the renewal, at most 5 times, and the
//   old one dies at once. So a grant lives longest when each renewal is made once, late:
//   renew_before (default 3 days, at most half the refresh token's lifetime) before it dies.
// - When no renewal is left (or the app lacks Douyin's renew permission: 10004), the grant stays
//   active with reauth_due_at = the refresh token's end, gets one last refresh just before it so
//   the final access token lasts as long as Douyin allows, and needs re-authorization only once
//   the refresh token is dead (10010, or its expiry passed).
// grants.extra keeps {"renewals": n, "refresh_lifetime": s, "renewals_exhausted": true}.
//
// The decisions are pure functions of the time in namespace douyin; DouyinPlatform glues them to
// an HttpClient.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "net/http_client.hpp"
#include "platforms/platform.hpp"

namespace mediax {

namespace douyin {

enum class Flow { authorization_code, refresh_token, renew_refresh_token, client_token };

inline constexpr const char* kDefaultBaseUrl = "https://open.douyin.com";
// Douyin's documented numbers.
inline constexpr std::int64_t kRefreshTokenLifetime = 30LL * 24 * 3600;
inline constexpr std::int64_t kClientTokenLifetime = 7200;
inline constexpr int kMaxRenewals = 5;
// Renew this long before the refresh token dies: late, so each renewal's 30 days count from as
// late as possible, with a few days to retry a failing renewal before it is too late.
inline constexpr std::int64_t kDefaultRenewBefore = 3LL * 24 * 3600;
// The last refresh of a refresh token that cannot be renewed comes this long before it dies (a
// tenth of its lifetime when that is shorter): late, so the final access token ends as late as
// Douyin allows, with time left for a retry.
inline constexpr std::int64_t kLastRefreshLead = 600;

// app.options, all optional:
//   renew_before_seconds  integer 60..2592000   renew the refresh token once this much of it is left
//                                               (used: at most half its lifetime); the old name
//                                               renew_window_seconds is read as an alias
//   max_renewals          integer 0..100        renewals Douyin allows (documented: 5; 0: never renew)
//   client_token          "client_token" | "stable_client_token"   endpoint for the app's own token
//   optional_scopes       {"scope": true|false, ...}   scopes the creator may untick (Douyin's
//                                               optionalScope); true: ticked at first
//   base_url              http(s) URL           this app's Douyin host (e.g. the sandbox),
//                                               instead of [platforms.douyin] base_url
struct Options {
  Seconds renew_before{kDefaultRenewBefore};
  int max_renewals = kMaxRenewals;
  bool stable_client_token = false;
  std::vector<std::pair<std::string, bool>> optional_scopes;  // scope, ticked at first
  std::string base_url;                                       // empty: the daemon's
};
// Reads and checks app.options; on a problem returns "options.X: why" and leaves `out` unspecified.
std::optional<std::string> parse_options(const nlohmann::json& options, Options& out);

std::string build_authorize_url(const std::string& base_url, const App& app, const AuthorizeParams& p,
                                const Options& options = {});
// POST oauth/access_token/, form: client_key, client_secret, code, grant_type=authorization_code.
ClientRequest build_code_request(const std::string& base_url, const App& app, const std::string& code);
// POST oauth/refresh_token/, form: client_key, grant_type=refresh_token, refresh_token (no secret).
ClientRequest build_refresh_request(const std::string& base_url, const App& app, const std::string& refresh_token);
// POST oauth/renew_refresh_token/, form: client_key, refresh_token.
ClientRequest build_renew_request(const std::string& base_url, const App& app, const std::string& refresh_token);
// POST oauth/client_token/ (or oauth/stable_client_token/), JSON: client_key, client_secret, grant_type.
ClientRequest build_client_token_request(const std::string& base_url, const App& app, bool stable);

// The class of a Douyin error_code on a given call (platforms.md's table).
OutcomeKind kind_for_error_code(std::int64_t code, Flow flow);

// Classifies any answer of the OAuth endpoints. On success: open_id becomes account_id, the
// renewal's new refresh token comes in refresh_token with its expires_in in refresh_expires_in.
// `secrets` (what the request carried) are scrubbed from Douyin's text.
Outcome parse_response(const ClientResponse& r, Flow flow, TimePoint now, const std::vector<std::string>& secrets = {});

// Renewals made so far, from grant.extra["renewals"] (number or string); 0 when absent.
int renewals_of(const Grant& grant);

// What is known of a grant's refresh token.
struct RefreshTokenState {
  std::optional<TimePoint> expires_at;      // empty: unknown (nothing is planned then)
  Seconds lifetime{kRefreshTokenLifetime};  // what it was issued with
  int renewals = 0;                         // made so far
  bool exhausted = false;                   // Douyin answered 10020 to a renewal
};
// From grant.refresh_expires_at and grant.extra.
RefreshTokenState refresh_token_state(const Grant& grant);

// How long before its end the refresh token is renewed: renew_before, at most half its lifetime.
Seconds renew_lead(const Options& options, Seconds lifetime);
// How long before its end a refresh token that will not be renewed gets its last refresh.
Seconds last_refresh_lead(Seconds lifetime);
// Whether another renewal may be tried: the app is not known to lack the permission, and
// renewals are left (by max_renewals and by what Douyin said).
bool may_renew(const RefreshTokenState& rt, const Options& options, bool app_may_renew);

// What refresh() does now.
enum class RefreshAction {
  refresh,            // refresh the access token only
  refresh_and_renew,  // refresh it, then renew the refresh token (its renewal is due)
  expired,            // the refresh token is dead: the account must be connected again
};
RefreshAction plan_refresh(const RefreshTokenState& rt, const Options& options, bool app_may_renew, TimePoint now);

// After a refresh (or a renewal, or a code exchange): when Douyin must be called again at the
// latest, and when the account must be connected again, for a refresh token in state `rt`.
//  - renewals possible: by its renewal time (a renewal that is due already but failed: again
//    after an eighth of what is left, 1 s..1 h), no reauth date;
//  - none: reauth_due_at = its end; by the last refresh just before it, and after that by its end
//    (when plan_refresh says expired).
struct FollowUp {
  std::optional<TimePoint> call_again_by;
  std::optional<TimePoint> reauth_due_at;
};
FollowUp follow_up(const RefreshTokenState& rt, const Options& options, bool app_may_renew, TimePoint now);

}  // namespace douyin

class DouyinPlatform : public Platform {
 public:
  // settings.urls["douyin"]["base_url"] overrides https://open.douyin.com; an app's
  // options.base_url overrides both.
  DouyinPlatform(HttpClient& http, PlatformSettings settings);

  std::string name() const override { return "douyin"; }
  // client_id (client_key) and client_secret are required; options as in douyin::Options.
  AppCheck prepare_app(App& app) override;
  bool uses_pkce(const App&) const override { return false; }
  std::string authorize_url(const App& app, const AuthorizeParams& p) const override;
  Outcome exchange_code(const App& app, const std::string& code, const std::string& code_verifier,
                        const std::string& redirect_uri) override;
  // Refreshes the access token and, when its renewal is due, renews the refresh token (see .cpp);
  // token.call_again_by and token.reauth_due say what comes next.
  Outcome refresh(const App& app, const Grant& grant) override;
  // The reason changes nothing: each client_token call issues a new token (stable_client_token: the
  // same one while it is valid: token.same_until_expiry).
  Outcome client_token(const App& app, const AppTokenCall& call) override;
  // Douyin has no revocation endpoint for the app: the user revokes in the Douyin app.
  Outcome revoke(const App& app, const Grant& grant) override;

  const std::string& base_url() const { return base_url_; }
  // The host an app talks to: its options.base_url, else the daemon's.
  std::string base_url_for(const douyin::Options& options) const;

 private:
  Outcome call(const ClientRequest& req, douyin::Flow flow, const std::vector<std::string>& secrets);

  HttpClient& http_;
  PlatformSettings settings_;
  std::string base_url_;
};

}  // namespace mediax
