// Plain shared types: apps, grants, tokens and the outcome of a platform call.
// Depends on nothing but the standard library and nlohmann-json.
#pragma once

#include <chrono>
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "util/time_format.hpp"  // format_time & co.: every type here carries times

namespace mediax {

using SysClock = std::chrono::system_clock;
using TimePoint = SysClock::time_point;
using Seconds = std::chrono::seconds;

enum class GrantStatus { active, needs_reauth, revoked, disabled };
std::string to_string(GrantStatus s);
std::optional<GrantStatus> grant_status_from_string(const std::string& s);

// How a consumer sends an app's tokens to the platform's APIs (platforms/token_usage.hpp says which
// platform takes which). As text, the token_usage of the API and of mediax.access_tokens:
// "header:Authorization:Bearer" (RFC 6750), "header:access-token" (Douyin OpenAPI),
// "query:access_token" (WeChat), "query:component_access_token" (a WeChat third-party platform's own
// token on the component APIs).
enum class TokenUsage : std::uint8_t {
  authorization_bearer,
  access_token_header,
  access_token_query,
  component_access_token_query,
};
std::string to_string(TokenUsage u);
std::optional<TokenUsage> token_usage_from_string(const std::string& s);

struct Endpoints {
  std::string authorize_url;
  std::string token_url;
  std::string revocation_url;  // empty: the provider has none
};

// A registered client at a platform. client_secret is only filled when the store was asked for it.
struct App {
  std::int64_t id = 0;
  std::string name;
  std::string platform;  // "oauth2", "douyin", "wechat", "wechat_component", "google"
  std::string client_id;
  std::string client_secret;
  // Options that are secrets (wechat_component: message_token, encoding_aes_key,
  // previous_encoding_aes_key): sealed like client_secret, only filled when the store was asked for
  // secrets, never shown. Platform::prepare_app moves them here out of `options`.
  nlohmann::json secret_options = nlohmann::json::object();
  std::vector<std::string> scopes;
  bool client_credentials = false;
  std::string issuer;   // oauth2: discovery issuer, if endpoints came from discovery
  Endpoints endpoints;  // oauth2: resolved endpoints; others: overrides (empty = platform default)
  std::string token_auth_method = "client_secret_post";  // or "client_secret_basic"
  std::string redirect_uri;                              // {public_url}/oauth/callback unless overridden
  nlohmann::json options = nlohmann::json::object();     // platform-specific options
  // Schedule of the app token (client credentials only).
  GrantStatus status = GrantStatus::active;
  int failure_count = 0;
  std::string last_error;
  std::optional<TimePoint> next_refresh_at;
  TimePoint created_at{};
  std::string webhook_url;  // empty: no webhook (its secret never leaves the store)
  // Since when the platform refuses to renew this app's refresh tokens (Douyin 10004 on
  // renew_refresh_token: the app lacks the permission). Empty: not known to be refused.
  std::optional<TimePoint> renew_not_permitted_at;
  // Set at registration from the platform (platforms/token_usage.hpp, platforms/credential_key.hpp).
  TokenUsage token_usage = TokenUsage::authorization_bearer;  // the grants' tokens
  // The app's own token when it is sent otherwise (wechat_component: ?component_access_token=).
  std::optional<TokenUsage> app_token_usage;
  TokenUsage own_token_usage() const { return app_token_usage.value_or(token_usage); }
  std::string credential_key;  // empty: the app fetches no app token (client_credentials false)
  // wechat_component: CreateTime of the latest component_verify_ticket stored (the store fills it
  // on reads); empty: none has come yet.
  std::optional<TimePoint> component_ticket_at;
  // Why the daemon refused to use the app's secrets (sealed for other endpoints than the row names
  // now, changed, plain text) and since when; empty: not refused. Cleared when the secrets are set
  // again through the API (store/pg_store_seal.cpp).
  std::string misconfigured;
  std::optional<TimePoint> misconfigured_at;
};

// One authorized account of an app.
struct Grant {
  std::int64_t id = 0;
  std::int64_t app_id = 0;
  std::string account_id;
  std::vector<std::string> scopes;
  std::string refresh_token;  // only filled when the store was asked for it
  // The current access token, filled only for a call that needs it (revocation by access token:
  // TikTok, Weibo); never stored from here.
  std::string access_token;
  std::optional<TimePoint> refresh_expires_at;
  GrantStatus status = GrantStatus::active;
  std::string status_reason;  // why needs_reauth / revoked / disabled
  int failure_count = 0;
  std::string last_error;
  std::optional<TimePoint> next_refresh_at;
  nlohmann::json extra = nlohmann::json::object();  // platform-specific (e.g. unionid, renewals left)
  TimePoint created_at{};
  TimePoint updated_at{};
  // The refresh token can no longer be renewed and dies then: the account must be connected
  // again before. The grant stays active until then. Empty: not known (or renewals are left).
  std::optional<TimePoint> reauth_due_at;
};

// The current access token of an app (grant_id empty) or of a grant.
struct Token {
  std::int64_t app_id = 0;
  std::optional<std::int64_t> grant_id;
  std::string access_token;
  std::string token_type;  // as the platform said ("Bearer"); empty when it names none (Douyin, WeChat)
  std::vector<std::string> scopes;
  TimePoint expires_at{};
  TimePoint refreshed_at{};
  // Not stored with the token (it is the app's): TokenReads sets it on the tokens it answers with.
  TokenUsage token_usage = TokenUsage::authorization_bearer;
};

// What a platform answered with a token.
struct TokenResult {
  std::string access_token;
  std::string token_type;                    // empty: the platform names none (Douyin, WeChat)
  std::vector<std::string> scopes;           // empty: unchanged / as requested
  std::optional<Seconds> expires_in;         // empty: unknown, use the configured default
  std::optional<std::string> refresh_token;  // empty: keep the old one
  std::optional<Seconds> refresh_expires_in;
  std::string account_id;  // from the token response when the platform gives one
  nlohmann::json extra = nlohmann::json::object();
  // The platform's own bound on the schedule: call refresh() again no later than this (Douyin:
  // the refresh token's renewal, or its last refresh before it dies). The next refresh is the
  // earlier of this and the refresh policy's time.
  std::optional<TimePoint> call_again_by;
  // The platform hands out this same token until it expires (Douyin's stable_client_token): once
  // it comes back unchanged, no call can replace it before it expires, so the next is right after.
  bool same_until_expiry = false;
  // Grants: no renewal of the refresh token is left or allowed, so the account must be connected
  // again when it ends: reauth_due_at is set to the stored refresh_expires_at (false clears it).
  bool reauth_due = false;
  // The platform refused to renew refresh tokens for the app (Douyin 10004): recorded on the app.
  bool renew_not_permitted = false;
  // A step after the token was obtained failed (Douyin: renewing the refresh token). The token is
  // good and stored; this is recorded as the grant's last_error and retried by call_again_by.
  std::string warning_code;
  std::string warning_message;  // never a token or secret
};

// Every outcome of every platform call is classified once, by the platform class.
enum class OutcomeKind {
  success,
  retry_later,        // transient: 5xx, timeout, garbage, "system busy"
  rate_limited,       // 429 or a platform quota code
  needs_reauth,       // invalid_grant and friends: a human must connect the account again
  app_misconfigured,  // invalid_client, bad secret, IP not whitelisted
};
std::string to_string(OutcomeKind k);

struct Outcome {
  OutcomeKind kind = OutcomeKind::retry_later;
  TokenResult token;    // valid when kind == success
  std::string code;     // platform's own error code ("invalid_grant", "40029", "http_503")
  std::string message;  // platform's own message; never contains a token or secret
  std::optional<Seconds> retry_after;
  int http_status = 0;

  bool ok() const { return kind == OutcomeKind::success; }
  static Outcome success(TokenResult t);
  static Outcome failure(OutcomeKind k, std::string code, std::string message, int http_status = 0,
                         std::optional<Seconds> retry_after = std::nullopt);
};

// Identifies a refreshable thing: an app token (grant_id == 0) or a grant.
struct RefreshKey {
  std::int64_t app_id = 0;
  std::int64_t grant_id = 0;  // 0: the app's own client-credentials token
  bool is_app_token() const { return grant_id == 0; }
  // Packs into one integer for the timer wheel: grants are even, app tokens odd.
  std::uint64_t pack() const;
  static RefreshKey unpack(std::uint64_t v);  // app_id of a grant key is 0 (unknown)
  friend bool operator==(const RefreshKey&, const RefreshKey&) = default;
};

}  // namespace mediax
