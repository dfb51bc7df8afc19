// WeChat third-party platform (开放平台 第三方平台, "component"): tokens for the 公众号 / 小程序 accounts
// that authorized the platform. Reference: ../shared/platforms-wechat-component.md §2–§7.
//
// - The app is the platform: client_id = component_appid, client_secret = component_appsecret. Its own
//   token (client_token) is the component_access_token, minted by api_component_token with the latest
//   component_verify_ticket WeChat pushed to the event URL (ComponentCredentials::latest_ticket). Each
//   mint issues a new token; the replaced one lives 5 more minutes.
// - Each authorized account is a grant: account_id = authorizer_appid, scopes = the granted func_info
//   ids, token = authorizer_access_token, refresh_token = authorizer_refresh_token (no expiry while the
//   authorization stands). Refresh with api_authorizer_token; a refused refresh token (61023) is
//   re-read once with api_get_authorizer_info.
// - Every call is a JSON POST to api_base_url; the component APIs take the component token in the
//   query (?component_access_token=, or ?access_token= in the newer docs: options.token_param). A URL
//   is never logged nor put into a message. Errors are {"errcode", "errmsg"} with HTTP 200.
//
// The decisions are pure functions in namespace wechat_component (wechat_component_api.cpp);
// WeChatComponentPlatform (wechat_component_platform.cpp) glues them to an HttpClient and the daemon's
// ComponentCredentials.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "util/time_source.hpp"
#include "platforms/component_credentials.hpp"
#include "net/http_client.hpp"
#include "platforms/platform.hpp"

namespace mediax {

namespace wechat_component {

enum class Flow {
  component_token,   // api_component_token (the app token; appsecret + ticket in the body)
  start_push,        // api_start_push_ticket (appsecret in the body)
  pre_auth_code,     // api_create_preauthcode
  query_auth,        // api_query_auth (exchange the auth_code)
  authorizer_token,  // api_authorizer_token (refresh a grant)
  authorizer_info,   // api_get_authorizer_info (re-read a grant's refresh token)
};

inline constexpr const char* kDefaultMpBaseUrl = "https://mp.weixin.qq.com";
// Tickets come every 10 minutes: a missing, expired (61005) or refused (61006) ticket is asked for
// again after the next push rather than in a retry loop.
inline constexpr Seconds kWaitForPush{600};
// WeChat's daily quotas (45009) reset at midnight Beijing time (UTC+8; assumed, as for the wechat
// platform: the documentation does not state it).
inline constexpr int kQuotaResetUtcOffsetHours = 8;

// app.options (the ones that stay visible), all optional:
//   auth_type    1 (official accounts only) | 2 (mini programs only) | 3 (both; WeChat's default)
//   biz_appid    only this account may authorize (its appid); wins over auth_type at WeChat
//   mobile_link  "wxaopen" (default: {open_base_url}/wxaopen/safe/bindcomponent, the SDKs' form) |
//                "mp" ({mp_base_url}/safe/bindcomponent, the old docs' form): which one WeChat serves
//                now is unverified
//   token_param  "component_access_token" (default, the SDKs' spelling) | "access_token" (the newer docs')
// Secret options, moved to app.secret_options by prepare_app (sealed, never shown):
//   message_token               required: 3..32 letters or digits (消息校验Token)
//   encoding_aes_key            required: 43 base64 characters (消息加解密Key; decodes to 32 bytes)
//   previous_encoding_aes_key   optional: the key before a rotation, still accepted on pushes
struct Options {
  int auth_type = 0;  // 0: not set (the link says 3)
  std::string biz_appid;
  bool mobile_wxaopen = true;
  std::string token_param = "component_access_token";
};
inline constexpr const char* kSecretOptionNames[] = {"message_token", "encoding_aes_key", "previous_encoding_aes_key"};
// Reads and checks the visible app.options; on a problem returns "options.X: why".
std::optional<std::string> parse_options(const nlohmann::json& options, Options& out);
// Checks app.secret_options (names as in options.X, since that is where the admin wrote them); never
// quotes a value.
std::optional<std::string> check_secret_options(const nlohmann::json& secret_options);
// WeChat's form rules: 3..32 ASCII letters or digits; 43 characters of the base64 alphabet.
bool valid_message_token(const std::string& token);
bool valid_encoding_aes_key(const std::string& key);
// An appid as a biz_appid: 1..64 ASCII letters, digits, '_' or '-'.
bool valid_appid(const std::string& appid);

// The URL WeChat sends the browser back to: the daemon's callback with ?state=STATE inside, since
// WeChat appends auth_code and expires_in to redirect_uri and returns no state of its own.
std::string redirect_uri_with_state(const App& app, const AuthorizeParams& p);
// The PC page {mp_base_url}/cgi-bin/componentloginpage?component_appid&pre_auth_code&redirect_uri&
// auth_type[&biz_appid], or with p.mobile the H5 link (options.mobile_link) with action=bindcomponent
// &no_scan=1 first and "#wechat_redirect" last. auth_type / biz_appid: p's when set, else the options'.
std::string build_authorize_url(const std::string& mp_base_url, const std::string& open_base_url, const App& app,
                                const Options& o, const AuthorizeParams& p);

// POST cgi-bin/component/api_component_token {component_appid, component_appsecret, component_verify_ticket}
ClientRequest build_component_token_request(const std::string& api_base_url, const App& app, const std::string& ticket);
// POST cgi-bin/component/api_start_push_ticket {component_appid, component_secret} (no token, as WxJava)
ClientRequest build_start_push_request(const std::string& api_base_url, const App& app);
// POST cgi-bin/component/api_create_preauthcode?<token_param>=TOKEN {component_appid}
ClientRequest build_pre_auth_code_request(const std::string& api_base_url, const App& app, const Options& o,
                                          const std::string& component_token);
// POST cgi-bin/component/api_query_auth?<token_param>=TOKEN {component_appid, authorization_code}
ClientRequest build_query_auth_request(const std::string& api_base_url, const App& app, const Options& o,
                                       const std::string& component_token, const std::string& auth_code);
// POST cgi-bin/component/api_authorizer_token?<token_param>=TOKEN
//   {component_appid, authorizer_appid, authorizer_refresh_token}
ClientRequest build_authorizer_token_request(const std::string& api_base_url, const App& app, const Options& o,
                                             const std::string& component_token, const std::string& authorizer_appid,
                                             const std::string& refresh_token);
// POST cgi-bin/component/api_get_authorizer_info?<token_param>=TOKEN {component_appid, authorizer_appid}
ClientRequest build_authorizer_info_request(const std::string& api_base_url, const App& app, const Options& o,
                                            const std::string& component_token, const std::string& authorizer_appid);

// 40001 / 40014 / 42001: the component token was refused (WxJava's ACCESS_TOKEN_ERROR_CODES).
bool is_token_error(const std::string& outcome_code);
// The class of an errcode on a given call (reference §7).
OutcomeKind kind_for_errcode(std::int64_t errcode, Flow flow);

// Every parser classifies transport errors, HTTP non-200, non-JSON and errcode != 0 the same way
// (45009 rate limited until WeChat's next day, 61005/61006 retried after kWaitForPush, 61004 naming
// the IP to whitelist); `secrets` (what the request carried) never reach a message.
//
// api_component_token: the component_access_token and its expires_in.
Outcome parse_component_token(const ClientResponse& r, TimePoint now, const std::vector<std::string>& secrets);
// api_create_preauthcode: the pre_auth_code in token.access_token, its expires_in.
Outcome parse_pre_auth_code(const ClientResponse& r, TimePoint now, const std::vector<std::string>& secrets);
// api_query_auth, with or without the authorization_info wrapper: account_id = authorizer_appid,
// scopes = the func_info ids, extra {func_info, authorized_via}. No tokens (the account has no API
// permission): needs_reauth "no_api_permission".
Outcome parse_query_auth(const ClientResponse& r, TimePoint now, const std::vector<std::string>& secrets);
// api_authorizer_token: the access token, expires_in and the refresh token it answers.
Outcome parse_authorizer_token(const ClientResponse& r, TimePoint now, const std::vector<std::string>& secrets);
// api_get_authorizer_info: success with token.refresh_token = authorization_info.authorizer_refresh_token
// (unset when WeChat holds none: the authorization code was never exchanged), scopes and extra as
// parse_query_auth; token.access_token stays empty.
Outcome parse_authorizer_info(const ClientResponse& r, TimePoint now, const std::vector<std::string>& secrets);
// api_start_push_ticket: success when WeChat restarted the pushes or says they run.
Outcome parse_start_push(const ClientResponse& r, TimePoint now, const std::vector<std::string>& secrets);

}  // namespace wechat_component

class WeChatComponentPlatform : public Platform {
 public:
  // settings.urls["wechat"]["api_base_url"|"mp_base_url"|"open_base_url"] override the real hosts.
  // `credentials` (the tickets and the component token; must outlive the platform) may be null:
  // every call then answers retry_later. `clock` (tests) defaults to the system clock.
  WeChatComponentPlatform(HttpClient& http, PlatformSettings settings, ComponentCredentials* credentials,
                          const TimeSource* clock = nullptr);

  std::string name() const override { return "wechat_component"; }
  AppCheck prepare_app(App& app) override;
  bool uses_pkce(const App&) const override { return false; }
  std::string check_authorize(const App& app, const AuthorizeParams& p) const override;
  Outcome prepare_authorize(const App& app, AuthorizeParams& p) override;
  std::string authorize_url(const App& app, const AuthorizeParams& p) const override;
  Outcome exchange_code(const App& app, const std::string& code, const std::string& code_verifier,
                        const std::string& redirect_uri) override;
  Outcome refresh(const App& app, const Grant& grant) override;
  Outcome client_token(const App& app, const AppTokenCall& call) override;
  // WeChat has no revocation call for a third-party platform: the merchant removes it in mp.weixin.qq.com.
  Outcome revoke(const App& app, const Grant& grant) override;
  Outcome recover_grant(const App& app, const Grant& grant) override;

  const std::string& api_base_url() const { return api_base_url_; }
  const std::string& mp_base_url() const { return mp_base_url_; }
  const std::string& open_base_url() const { return open_base_url_; }

 private:
  template <class Build, class Parse>
  Outcome component_call(const App& app, Build build, Parse parse, std::vector<std::string> secrets);
  Outcome refresh_with(const App& app, const wechat_component::Options& o, const std::string& authorizer_appid,
                       const std::string& refresh_token);
  Outcome authorizer_info(const App& app, const wechat_component::Options& o, const std::string& authorizer_appid);
  Outcome recover(const App& app, const wechat_component::Options& o, const Grant& grant, bool only_if_changed);
  TimePoint now() const;

  HttpClient& http_;
  ComponentCredentials* credentials_;
  const TimeSource* clock_;
  std::string api_base_url_;
  std::string mp_base_url_;
  std::string open_base_url_;
};

}  // namespace mediax
