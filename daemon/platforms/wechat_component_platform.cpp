#include "platforms/wechat_component_platform.hpp"

#include <algorithm>
#include <initializer_list>
#include <nlohmann/json.hpp>

#include "platforms/platform_util.hpp"
#include "platforms/wechat_platform.hpp"

namespace mediax {

namespace {

namespace wc = wechat_component;

// Both WeChat platforms read [platforms.wechat].
std::string url_from(const PlatformSettings& settings, const char* key, const char* fallback) {
  return platform_util::configured_url(settings, "wechat", key, fallback);
}

// What every request of `app` may carry or WeChat may echo: the AppSecret and the secret options.
std::vector<std::string> app_secrets(const App& app) {
  std::vector<std::string> out{app.client_secret};
  if (app.secret_options.is_object()) {
    for (const auto& [k, v] : app.secret_options.items()) {
      if (v.is_string()) out.push_back(v.get<std::string>());
    }
  }
  return out;
}

std::vector<std::string> with(std::vector<std::string> secrets, std::initializer_list<std::string> more) {
  secrets.insert(secrets.end(), more.begin(), more.end());
  return secrets;
}

Outcome bad_options(const std::string& error) {
  return Outcome::failure(OutcomeKind::app_misconfigured, "bad_options", error);
}

Outcome no_credentials() {
  return Outcome::failure(OutcomeKind::retry_later, "component_credentials_unavailable",
                          "the daemon has no component ticket store for wechat_component apps; trying again later");
}

Outcome component_token_unavailable() {
  return Outcome::failure(OutcomeKind::retry_later, "component_token_unavailable",
                          "the platform's component access token is not available yet (waiting for a "
                          "component_verify_ticket, or WeChat refused the last attempt: see the app's last_error)",
                          0, wc::kWaitForPush);
}

Outcome never_exchanged() {
  return Outcome::failure(OutcomeKind::needs_reauth, "never_exchanged",
                          "the authorization code was never exchanged and WeChat holds no refresh token for the "
                          "account: the account's admin must update the authorization (更新授权) or connect again");
}

}  // namespace

WeChatComponentPlatform::WeChatComponentPlatform(HttpClient& http, PlatformSettings settings,
                                                 ComponentCredentials* credentials, const TimeSource* clock)
    : http_(http),
      credentials_(credentials),
      clock_(clock),
      api_base_url_(url_from(settings, "api_base_url", wechat::kDefaultApiBaseUrl)),
      mp_base_url_(url_from(settings, "mp_base_url", wc::kDefaultMpBaseUrl)),
      open_base_url_(url_from(settings, "open_base_url", wechat::kDefaultOpenBaseUrl)) {}

TimePoint WeChatComponentPlatform::now() const { return clock_ != nullptr ? clock_->system() : SysClock::now(); }

AppCheck WeChatComponentPlatform::prepare_app(App& app) {
  if (app.client_id.empty()) return AppCheck::fail("client_id: the third-party platform's component_appid is required");
  if (app.client_secret.empty()) {
    return AppCheck::fail("client_secret: the third-party platform's component_appsecret is required");
  }
  if (!app.issuer.empty()) return AppCheck::fail("issuer: not used by wechat_component");
  if (!app.endpoints.authorize_url.empty() || !app.endpoints.token_url.empty() ||
      !app.endpoints.revocation_url.empty()) {
    return AppCheck::fail(
        "endpoints: not used by wechat_component; set api_base_url and mp_base_url in [platforms.wechat] of the "
        "config");
  }
  if (app.token_auth_method != "client_secret_post") {
    return AppCheck::fail("token_auth_method: wechat_component sends the secret in the request body only");
  }
  for (const auto& s : app.scopes) {
    const bool id = !s.empty() && s.size() <= 9 &&
                    std::all_of(s.begin(), s.end(), [](char c) { return c >= '0' && c <= '9'; });
    if (!id) return AppCheck::fail("scopes: wechat_component scopes are permission set ids (func_info), e.g. \"1\"");
  }
  if (app.options.is_null()) app.options = nlohmann::json::object();
  if (!app.options.is_object()) return AppCheck::fail("options: must be an object");
  // The secret options leave `options` (shown to every reader) for secret_options (sealed).
  if (!app.secret_options.is_object()) app.secret_options = nlohmann::json::object();
  for (const char* key : wc::kSecretOptionNames) {
    auto it = app.options.find(key);
    if (it == app.options.end()) continue;
    app.secret_options[key] = *it;
    app.options.erase(it);
  }
  if (auto e = wc::check_secret_options(app.secret_options)) return AppCheck::fail(*e);
  wc::Options o;
  if (auto e = wc::parse_options(app.options, o)) return AppCheck::fail(*e);
  // The component access token is the app's own token; the grants' authorizer tokens go in
  // ?access_token= (the app token's usage is app_token_usage_for's).
  app.client_credentials = true;
  app.token_usage = TokenUsage::access_token_query;
  return {};
}

std::string WeChatComponentPlatform::check_authorize(const App& app, const AuthorizeParams& p) const {
  (void)app;
  if (!p.scopes.empty() || !p.prompt.empty() || !p.login_hint.empty() || p.include_granted_scopes) {
    return "the wechat_component platform takes no scopes, prompt, login_hint or include_granted_scopes per "
           "connection: the account's admin picks the permission sets on WeChat's page; it takes mobile, auth_type "
           "(1 official accounts, 2 mini programs, 3 both) and biz_appid";
  }
  if (p.auth_type < 0 || p.auth_type > 3)
    return "auth_type: must be 1 (official accounts), 2 (mini programs) or 3 (both)";
  if (!p.biz_appid.empty() && !wc::valid_appid(p.biz_appid)) {
    return "biz_appid: must be an account's appid (letters, digits, '_' or '-')";
  }
  return "";
}

template <class Build, class Parse>
Outcome WeChatComponentPlatform::component_call(const App& app, Build build, Parse parse,
                                                std::vector<std::string> secrets) {
  if (credentials_ == nullptr) return no_credentials();
  std::optional<std::string> token;
  try {
    token = credentials_->component_token(app);
  } catch (const std::exception&) {
    return component_token_unavailable();
  }
  if (!token) return component_token_unavailable();
  secrets.push_back(*token);
  Outcome out = parse(http_.send(build(*token)), now(), secrets);
  if (out.ok() || !wc::is_token_error(out.code)) return out;
  // WeChat refused the component token (40001/40014/42001): one new token, one retry (WxJava #1300:
  // the credentials replace it only if it is still the current one). A second refusal is answered.
  std::optional<std::string> renewed;
  try {
    renewed = credentials_->component_token(app, token);
  } catch (const std::exception&) {
    return out;
  }
  // None, or the same one (no newer token could be had): a second call would be refused the same way.
  if (!renewed || *renewed == *token) return out;
  secrets.push_back(*renewed);
  return parse(http_.send(build(*renewed)), now(), secrets);
}

Outcome WeChatComponentPlatform::client_token(const App& app, const AppTokenCall& /*call*/) {
  // Every call mints a new component token (the replaced one lives 5 more minutes), whatever the reason.
  if (credentials_ == nullptr) return no_credentials();
  std::optional<std::string> ticket;
  try {
    ticket = credentials_->latest_ticket(app);
  } catch (const std::exception&) {
    return Outcome::failure(OutcomeKind::retry_later, "ticket_unavailable",
                            "the stored component_verify_ticket could not be read (database unavailable)");
  }
  if (!ticket || ticket->empty()) {
    return Outcome::failure(OutcomeKind::retry_later, "waiting_for_ticket",
                            "no component_verify_ticket has been pushed yet: check the event URL registered on the "
                            "WeChat open platform",
                            0, wc::kWaitForPush);
  }
  const std::vector<std::string> secrets = with(app_secrets(app), {*ticket});
  Outcome out = wc::parse_component_token(http_.send(wc::build_component_token_request(api_base_url_, app, *ticket)),
                                          now(), secrets);
  if (out.code == "61005") {
    // The pushes may have stopped: api_start_push_ticket restarts them (and doubles as a health
    // check). Best effort; what WeChat says is added to the message.
    Outcome pushed =
        wc::parse_start_push(http_.send(wc::build_start_push_request(api_base_url_, app)), now(), app_secrets(app));
    out.message += pushed.ok() ? "; asked WeChat to restart the ticket pushes (api_start_push_ticket: " +
                                     (pushed.message.empty() ? std::string("ok") : pushed.message) + ")"
                               : "; api_start_push_ticket failed: " + pushed.message;
  }
  return out;
}

Outcome WeChatComponentPlatform::prepare_authorize(const App& app, AuthorizeParams& p) {
  wc::Options o;
  if (auto e = wc::parse_options(app.options, o)) return bad_options(*e);
  Outcome out = component_call(
      app, [&](const std::string& token) { return wc::build_pre_auth_code_request(api_base_url_, app, o, token); },
      wc::parse_pre_auth_code, app_secrets(app));
  if (!out.ok()) return out;
  // The code is single use and short-lived: it lives in p only, never in the answer.
  p.pre_auth_code = std::move(out.token.access_token);
  TokenResult t;
  t.expires_in = out.token.expires_in;
  Outcome done = Outcome::success(std::move(t));
  done.http_status = out.http_status;
  return done;
}

std::string WeChatComponentPlatform::authorize_url(const App& app, const AuthorizeParams& p) const {
  wc::Options o;
  if (wc::parse_options(app.options, o)) return "";
  return wc::build_authorize_url(mp_base_url_, open_base_url_, app, o, p);
}

Outcome WeChatComponentPlatform::exchange_code(const App& app, const std::string& code,
                                               const std::string& /*code_verifier*/,
                                               const std::string& /*redirect_uri*/) {
  wc::Options o;
  if (auto e = wc::parse_options(app.options, o)) return bad_options(*e);
  return component_call(
      app, [&](const std::string& token) { return wc::build_query_auth_request(api_base_url_, app, o, token, code); },
      wc::parse_query_auth, with(app_secrets(app), {code}));
}

Outcome WeChatComponentPlatform::refresh_with(const App& app, const wc::Options& o, const std::string& authorizer_appid,
                                              const std::string& refresh_token) {
  return component_call(
      app,
      [&](const std::string& token) {
        return wc::build_authorizer_token_request(api_base_url_, app, o, token, authorizer_appid, refresh_token);
      },
      wc::parse_authorizer_token, with(app_secrets(app), {refresh_token}));
}

Outcome WeChatComponentPlatform::authorizer_info(const App& app, const wc::Options& o,
                                                 const std::string& authorizer_appid) {
  return component_call(
      app,
      [&](const std::string& token) {
        return wc::build_authorizer_info_request(api_base_url_, app, o, token, authorizer_appid);
      },
      wc::parse_authorizer_info, app_secrets(app));
}

// Reference §5's decision tree: re-read the refresh token WeChat holds for the account and refresh
// with it. `only_if_changed` (after a 61023): the same token again would fail again.
Outcome WeChatComponentPlatform::recover(const App& app, const wc::Options& o, const Grant& grant,
                                         bool only_if_changed) {
  Outcome info = authorizer_info(app, o, grant.account_id);
  if (!info.ok()) return info;
  const std::string fresh = info.token.refresh_token.value_or("");
  if (fresh.empty()) return never_exchanged();
  if (only_if_changed && fresh == grant.refresh_token) {
    return Outcome::failure(OutcomeKind::needs_reauth, "61023",
                            "WeChat refuses the account's refresh token and holds no other: connect the account "
                            "again",
                            info.http_status);
  }
  Outcome out = refresh_with(app, o, grant.account_id, fresh);
  if (!out.ok()) {
    if (out.code == "61023") {
      out.message = "WeChat refuses the refresh token it handed out for the account too: connect the account again";
    }
    return out;
  }
  // Store the recovered token unless the answer brought yet another one; the permission sets too.
  if (!out.token.refresh_token) out.token.refresh_token = fresh;
  if (out.token.scopes.empty()) out.token.scopes = info.token.scopes;
  if (!info.token.extra.empty()) {
    for (const auto& [k, v] : info.token.extra.items()) out.token.extra[k] = v;
  }
  return out;
}

Outcome WeChatComponentPlatform::refresh(const App& app, const Grant& grant) {
  wc::Options o;
  if (auto e = wc::parse_options(app.options, o)) return bad_options(*e);
  if (grant.account_id.empty()) {
    return Outcome::failure(OutcomeKind::needs_reauth, "no_account",
                            "the grant names no authorizer appid: connect the account again");
  }
  // Lost (never stored) refresh token: WeChat may still hold one.
  if (grant.refresh_token.empty()) return recover(app, o, grant, false);
  Outcome out = refresh_with(app, o, grant.account_id, grant.refresh_token);
  if (out.code == "61023") {
    // The refresh token was refused: once, the one WeChat holds now (it may have changed, e.g. after
    // the event URL changed).
    return recover(app, o, grant, true);
  }
  return out;
}

Outcome WeChatComponentPlatform::recover_grant(const App& app, const Grant& grant) {
  wc::Options o;
  if (auto e = wc::parse_options(app.options, o)) return bad_options(*e);
  if (grant.account_id.empty()) {
    return Outcome::failure(OutcomeKind::needs_reauth, "no_account",
                            "the grant names no authorizer appid: connect the account again");
  }
  return recover(app, o, grant, false);
}

Outcome WeChatComponentPlatform::revoke(const App& /*app*/, const Grant& /*grant*/) {
  Outcome o = Outcome::success({});
  o.code = "not_supported";
  o.message =
      "WeChat has no call that ends a third-party platform's authorization; the account's admin removes it in "
      "mp.weixin.qq.com";
  return o;
}

}  // namespace mediax
