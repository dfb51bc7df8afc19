// Douyin's refresh-token renewal: the part of Douyin (抖音开放平台) that is code, not spec
// (platforms/douyin_spec.cpp holds its dialect as data and the hooks that use this).
//
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
// The decisions are pure functions of the time.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "platforms/platform.hpp"

namespace mediax {

namespace douyin {

inline constexpr const char* kDefaultBaseUrl = "https://open.douyin.com";
// Douyin's documented numbers.
inline constexpr std::int64_t kRefreshTokenLifetime = 30LL * 24 * 3600;
inline constexpr std::int64_t kClientTokenLifetime = 7200;
inline constexpr int kMaxRenewals = 5;
// Renew this long before the refresh token dies: late, so each renewal's 30 days count from as
// late as possible, with a few days to retry a failing renewal before it is too late.
inline constexpr std::int64_t kDefaultRenewBefore = 3LL * 24 * 3600;
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

}  // namespace mediax
