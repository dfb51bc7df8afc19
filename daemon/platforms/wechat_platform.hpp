// WeChat (微信开放平台 / 公众平台): OAuth 2.0 in WeChat's dialect.
//
// - The client id is `appid`, the secret `secret`. Browser URLs end in "#wechat_redirect"; the API
//   takes GET with the secret in the query (sns/oauth2/access_token, cgi-bin/token), so a URL is never
//   logged nor put in a message.
// - Errors are {"errcode": N, "errmsg": ...}, usually with HTTP 200.
// - The user's refresh token lives 30 days (one page says 180) and is never renewed.
// - The app's own token: cgi-bin/stable_token (the default: without force_refresh it returns the same
//   token while it is valid and WeChat hands over to the next one in its last 5 minutes, so other
//   holders are not cut off; force_refresh kills the current token at once, 20 a day, and does nothing
//   within 30 s of the previous forced call) or cgi-bin/token (each call issues a new token and kills
//   the old one five minutes later). Their daily quota is small, so counted calls are checked against a
//   per-app CallBudget first, counted on WeChat's day (Beijing time).
//
// The decisions are pure functions in namespace wechat; WeChatPlatform glues them to an HttpClient.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "util/time_source.hpp"
#include "platforms/call_budget.hpp"
#include "net/http_client.hpp"
#include "platforms/platform.hpp"

namespace mediax {

namespace wechat {

enum class Flow { authorization_code, refresh_token, app_token };

inline constexpr const char* kDefaultOpenBaseUrl = "https://open.weixin.qq.com";
inline constexpr const char* kDefaultApiBaseUrl = "https://api.weixin.qq.com";
inline constexpr std::int64_t kRefreshTokenLifetime = 30LL * 24 * 3600;
// Documented daily limits: cgi-bin/token about 2,000 calls; stable_token with force_refresh 20.
inline constexpr int kDefaultTokenBudget = 2000;
inline constexpr int kDefaultForceBudget = 20;
// CallBudget kinds.
inline constexpr const char* kBudgetToken = "wechat_token";
inline constexpr const char* kBudgetForce = "wechat_stable_token_force";
// stable_token: a forced call less than 30 s after the previous one changes nothing at WeChat.
inline constexpr Seconds kForceGap{30};
// 89501: an administrator has yet to confirm calls from this IP (WeChat pushed them a confirmation
// after 89503). Nothing is wrong with the app, and the admin may take hours: ask again every hour,
// which neither ends the app nor pushes the admin confirmation after confirmation.
inline constexpr Seconds kConfirmationRetry{3600};

// app.options, all optional:
//   authorize           "qrconnect" (website QR login, scope snsapi_login; default) | "oauth2" (official account)
//   scope_mode          "snsapi_base" (default) | "snsapi_userinfo"; only with authorize = "oauth2"
//   app_token           "stable_token" (default) | "token"
//   daily_token_budget  integer 0..1000000: counted app-token calls a day (cgi-bin/token calls, default 2000;
//                       with stable_token the forced calls, default 20)
//   quota_reset_utc_offset_hours  integer -12..14 (default 8): when WeChat's daily quota (45009) resets;
//                       Beijing midnight is assumed, which the documentation does not state
//   refresh_token_lifetime_seconds integer 86400..31536000 (default 30 days): expected life of a user's
//                       refresh token, shown as refresh_expires_at (the documentation disagrees: 30 or 180 days)
//   force_on_reject     boolean (default false): with stable_token, a consumer's token/rejected report may
//                       force a new token when WeChat still answers with the refused one (within the
//                       budget, 30 s apart); off, the consumer is told the token is still current
struct Options {
  bool qrconnect = true;
  std::string scope = "snsapi_login";  // the authorize scope that follows from authorize/scope_mode
  bool stable_token = true;
  int daily_token_budget = kDefaultForceBudget;
  int quota_reset_utc_offset_hours = 8;
  Seconds refresh_token_lifetime{kRefreshTokenLifetime};
  bool force_on_reject = false;
};
// Reads and checks app.options; on a problem returns "options.X: why".
std::optional<std::string> parse_options(const nlohmann::json& options, Options& out);

// open_base_url/connect/qrconnect or connect/oauth2/authorize, parameters in WeChat's order
// (appid, redirect_uri, response_type, scope, state), then "#wechat_redirect".
std::string build_authorize_url(const std::string& open_base_url, const App& app, const Options& o,
                                const AuthorizeParams& p);
// GET sns/oauth2/access_token?appid&secret&code&grant_type=authorization_code
ClientRequest build_code_request(const std::string& api_base_url, const App& app, const std::string& code);
// GET sns/oauth2/refresh_token?appid&grant_type=refresh_token&refresh_token (no secret)
ClientRequest build_refresh_request(const std::string& api_base_url, const App& app, const std::string& refresh_token);
// POST cgi-bin/stable_token, JSON {grant_type, appid, secret, force_refresh}
ClientRequest build_stable_token_request(const std::string& api_base_url, const App& app, bool force_refresh);
// GET cgi-bin/token?grant_type=client_credential&appid&secret
ClientRequest build_token_request(const std::string& api_base_url, const App& app);

// The class of an errcode on a given call (platforms.md's table).
OutcomeKind kind_for_errcode(std::int64_t errcode, Flow flow);
// The caller's IP address that WeChat names in an errmsg ("invalid ip 1.2.3.4 ipv6 ..."); "" when none.
std::string ip_from_errmsg(const std::string& errmsg);

// Classifies any API answer. On success openid becomes account_id and unionid (and is_snapshotuser)
// go to extra. 45009 is rate limited until the next midnight at `quota_reset_utc_offset_hours`;
// 89501 (an admin's confirmation pending) is retried after kConfirmationRetry.
Outcome parse_response(const ClientResponse& r, Flow flow, TimePoint now, const std::vector<std::string>& secrets = {},
                       int quota_reset_utc_offset_hours = 8);

// The allowance of counted app-token calls: daily_token_budget on WeChat's day; forced stable_token
// calls also kForceGap apart.
CallLimit budget_limit(const Options& o);
// Why a counted call is not made, for a message: the spent budget or the previous forced call.
std::string budget_refusal(const CallSpend& spend, const Options& o);
// The answer when the budget refuses a counted call (an admin's forced one, or cgi-bin/token): rate
// limited, code daily_budget or force_too_soon; cgi-bin/token waits for WeChat's next day.
Outcome refused_by_budget(const CallSpend& spend, const Options& o, TimePoint now);

// What follows WeChat's normal-mode stable_token answer to a consumer's report that rejected_token
// was refused.
enum class RejectedNext {
  answer,   // a failure, or a newer token: it is the answer
  force,    // still the refused token and the app allows forcing (budget permitting)
  explain,  // still the refused token and the app does not allow forcing: tell the consumer
};
RejectedNext after_normal_answer(const Outcome& normal, const std::string& rejected_token, const Options& o);
// The normal answer (still the refused token) marked kTokenStillCurrent, with a message saying that
// WeChat still calls it current, why no new one was forced (`why_not`) and what an admin can do.
Outcome still_current(Outcome normal, const App& app, const std::string& why_not);

}  // namespace wechat

class WeChatPlatform : public Platform {
 public:
  // settings.urls["wechat"]["open_base_url"|"api_base_url"] override the real hosts. `budget` may
  // be null: no daily limit is applied. `clock` (tests) defaults to the system clock.
  WeChatPlatform(HttpClient& http, PlatformSettings settings, CallBudget* budget = nullptr,
                 const TimeSource* clock = nullptr);

  std::string name() const override { return "wechat"; }
  AppCheck prepare_app(App& app) override;
  bool uses_pkce(const App&) const override { return false; }
  std::string authorize_url(const App& app, const AuthorizeParams& p) const override;
  Outcome exchange_code(const App& app, const std::string& code, const std::string& code_verifier,
                        const std::string& redirect_uri) override;
  Outcome refresh(const App& app, const Grant& grant) override;
  // The app token; see the .cpp for when WeChat issues a new one and what the budget counts.
  Outcome client_token(const App& app, const AppTokenCall& why) override;
  // WeChat has no revocation endpoint.
  Outcome revoke(const App& app, const Grant& grant) override;

  const std::string& open_base_url() const { return open_base_url_; }
  const std::string& api_base_url() const { return api_base_url_; }

 private:
  Outcome call(const ClientRequest& req, wechat::Flow flow, const std::vector<std::string>& secrets, int reset_offset);
  // Counts one app-token call of `kind` in the budget: the verdict; nullopt when the count cannot be
  // kept (database unavailable).
  std::optional<CallSpend> spend(const App& app, const wechat::Options& o, const char* kind);
  Outcome stable_call(const App& app, const wechat::Options& o, bool force);
  TimePoint now() const;

  HttpClient& http_;
  PlatformSettings settings_;
  CallBudget* budget_;
  const TimeSource* clock_;
  std::string open_base_url_;
  std::string api_base_url_;
};

}  // namespace mediax
