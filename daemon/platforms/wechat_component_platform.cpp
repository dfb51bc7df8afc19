#include "platforms/wechat_component_platform.hpp"

#include <algorithm>
#include <cctype>
#include <nlohmann/json.hpp>

#include "platforms/platform_util.hpp"
#include "platforms/wechat_platform.hpp"

namespace mediax {

namespace wechat_component {

namespace {

using nlohmann::json;
using platform_util::Form;

const char* endpoint_name(Flow flow) {
  switch (flow) {
    case Flow::component_token:
      return "WeChat's api_component_token";
    case Flow::start_push:
      return "WeChat's api_start_push_ticket";
    case Flow::pre_auth_code:
      return "WeChat's api_create_preauthcode";
    case Flow::query_auth:
      return "WeChat's api_query_auth";
    case Flow::authorizer_token:
      return "WeChat's api_authorizer_token";
    case Flow::authorizer_info:
      return "WeChat's api_get_authorizer_info";
  }
  return "WeChat";
}

std::string meaning(std::int64_t code, Flow flow, const std::string& ip) {
  switch (code) {
    case -1:
      return "WeChat is busy";
    case 40001:
      return flow == Flow::component_token
                 ? "invalid credential: check the app's client_secret (the platform's AppSecret)"
                 : "WeChat refused the component access token";
    case 40013:
      return "invalid appid: check the app's client_id (the platform's component_appid)";
    case 40014:
      return "WeChat refused the component access token (invalid)";
    case 42001:
      return "the component access token expired";
    case 41004:
      return "the AppSecret is missing: check the app's client_secret";
    case 40125:
      return "invalid AppSecret: check the app's client_secret";
    case 45009:
      return "the daily API quota is used up until WeChat's next day (Beijing midnight); an admin can reset it "
             "with clear_quota/v2 (10 times a month)";
    case 48001:
    case 61007:
      return flow == Flow::authorizer_token || flow == Flow::authorizer_info
                 ? "the account's authorization does not cover this call: its admin must update the authorization "
                   "(更新授权) or connect again"
                 : "the platform is not permitted to call this API: check its permission sets on the WeChat open "
                   "platform";
    case 61003:
      return "the account no longer authorizes this platform: connect it again";
    case 61004: {
      const std::string what = ip.empty() ? "this daemon's outgoing IP addresses" : "the IP " + ip;
      return "WeChat refused the call from " + (ip.empty() ? std::string("this daemon") : "IP " + ip) +
             ": whitelist " + what + " on the WeChat open platform (the third-party platform's IP whitelist)";
    }
    case 61005:
      return "the component_verify_ticket expired (older than 12 h): waiting for WeChat's next push; check that "
             "the event URL registered on the WeChat open platform receives the pushes";
    case 61006:
      return "WeChat refused the component_verify_ticket: waiting for WeChat's next push; check that the event "
             "URL registered on the WeChat open platform receives the pushes";
    case 61009:
      return "the authorization code is invalid: connect again";
    case 61010:
      return "the authorization code expired: connect again";
    case 61011:
      return "invalid component: check the app's client_id (the platform's component_appid)";
    case 61023:
      return "WeChat refused the authorizer refresh token";
    case 61024:
      return "the appid is a third-party platform's: its token comes from api_component_token only";
    default:
      return "WeChat error";
  }
}

json parse_body_or_null(const std::string& body) {
  auto j = platform_util::parse_object(body);
  return j ? std::move(*j) : json();
}

// The part of an answer that carries the authorization: WeChat answers with the authorization_info
// wrapper, and (community) sometimes without it.
const json& authorization_info(const json& j) {
  auto it = j.find("authorization_info");
  if (it != j.end() && it->is_object()) return *it;
  return j;
}

// func_info[].funcscope_category.id, as WeChat lists them (numbers or numeric strings), without
// duplicates.
std::vector<std::int64_t> func_ids(const json& info) {
  std::vector<std::int64_t> ids;
  auto it = info.find("func_info");
  if (it == info.end() || !it->is_array()) return ids;
  for (const auto& f : *it) {
    if (!f.is_object()) continue;
    auto c = f.find("funcscope_category");
    if (c == f.end() || !c->is_object()) continue;
    auto id = platform_util::int_member(*c, "id");
    if (id && std::find(ids.begin(), ids.end(), *id) == ids.end()) ids.push_back(*id);
  }
  return ids;
}

// account_id, scopes and extra from an authorization_info object.
void read_authorization(const json& info, TokenResult& t) {
  t.account_id = platform_util::id_member(info, "authorizer_appid");
  const auto ids = func_ids(info);
  for (auto id : ids) t.scopes.push_back(std::to_string(id));
  t.extra["func_info"] = ids;
  t.extra["authorized_via"] = "wechat_component";
}

HttpRequest post_json(const std::string& url, const json& body) {
  HttpRequest req;
  req.method = "POST";
  req.url = url;
  req.content_type = "application/json";
  req.headers.emplace_back("Accept", "application/json");
  req.body = body.dump();
  return req;
}

std::string component_url(const std::string& api_base_url, const char* path, const Options& o,
                          const std::string& component_token) {
  return platform_util::append_query(platform_util::join_url(api_base_url, path),
                                     {{o.token_param, component_token}});
}

bool ascii_alnum(char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9');
}

}  // namespace

// ----- options -----

bool valid_message_token(const std::string& token) {
  // The console's rule for 消息校验Token: English letters or digits, 3 to 32 characters.
  return token.size() >= 3 && token.size() <= 32 && std::all_of(token.begin(), token.end(), ascii_alnum);
}

bool valid_encoding_aes_key(const std::string& key) {
  // AESKey = base64_decode(EncodingAESKey + "="): any 43 characters of the alphabet decode to 32 bytes
  // (the last one's two low bits are dropped, as every SDK's decoder does; the console draws from
  // a-z A-Z 0-9).
  return key.size() == 43 &&
         std::all_of(key.begin(), key.end(), [](char c) { return ascii_alnum(c) || c == '+' || c == '/'; });
}

bool valid_appid(const std::string& appid) {
  return !appid.empty() && appid.size() <= 64 &&
         std::all_of(appid.begin(), appid.end(), [](char c) { return ascii_alnum(c) || c == '_' || c == '-'; });
}

std::optional<std::string> parse_options(const json& options, Options& out) {
  out = Options{};
  if (auto e = platform_util::unknown_option(options, {"auth_type", "biz_appid", "mobile_link", "token_param"})) {
    return e;
  }
  std::int64_t auth_type = 0;
  if (auto e = platform_util::integer_option(options, "auth_type", 1, 3, auth_type)) return e;
  out.auth_type = static_cast<int>(auth_type);
  if (options.is_object()) {
    auto it = options.find("biz_appid");
    if (it != options.end() && !it->is_null()) {
      if (!it->is_string() || !valid_appid(it->get<std::string>())) {
        return "options.biz_appid: must be an account's appid (letters, digits, '_' or '-')";
      }
      out.biz_appid = it->get<std::string>();
    }
  }
  std::string link = "wxaopen";
  if (auto e = platform_util::choice_option(options, "mobile_link", {"wxaopen", "mp"}, link)) return e;
  out.mobile_wxaopen = link == "wxaopen";
  if (auto e = platform_util::choice_option(options, "token_param", {"component_access_token", "access_token"},
                                            out.token_param)) {
    return e;
  }
  return std::nullopt;
}

std::optional<std::string> check_secret_options(const json& secret_options) {
  if (!secret_options.is_object()) return "options: must be an object";
  auto string_of = [&](const char* key) -> std::optional<std::string> {
    auto it = secret_options.find(key);
    if (it == secret_options.end() || it->is_null()) return std::nullopt;
    return it->is_string() ? it->get<std::string>() : std::string("\x01");  // never valid
  };
  auto token = string_of("message_token");
  if (!token) return "options.message_token: required: the message verification token (消息校验Token) set on the "
                     "WeChat open platform";
  if (!valid_message_token(*token)) return "options.message_token: must be 3 to 32 letters or digits";
  const char* key_rule = ": must be the 43-character EncodingAESKey (消息加解密Key) set on the WeChat open platform";
  auto key = string_of("encoding_aes_key");
  if (!key) return std::string("options.encoding_aes_key: required") + key_rule;
  if (!valid_encoding_aes_key(*key)) return std::string("options.encoding_aes_key") + key_rule;
  if (auto previous = string_of("previous_encoding_aes_key"); previous && !valid_encoding_aes_key(*previous)) {
    return std::string("options.previous_encoding_aes_key") + key_rule;
  }
  for (const auto& [k, v] : secret_options.items()) {
    if (std::find(std::begin(kSecretOptionNames), std::end(kSecretOptionNames), k) == std::end(kSecretOptionNames)) {
      return "options." + platform_util::clean_text(k) + ": unknown option";
    }
  }
  return std::nullopt;
}

// ----- browser links -----

std::string redirect_uri_with_state(const App& app, const AuthorizeParams& p) {
  const std::string& base = p.redirect_uri.empty() ? app.redirect_uri : p.redirect_uri;
  return platform_util::append_query(base, {{"state", p.state}});
}

std::string build_authorize_url(const std::string& mp_base_url, const std::string& open_base_url, const App& app,
                                const Options& o, const AuthorizeParams& p) {
  const int auth_type = p.auth_type != 0 ? p.auth_type : o.auth_type != 0 ? o.auth_type : 3;
  const std::string& biz_appid = p.biz_appid.empty() ? o.biz_appid : p.biz_appid;
  Form q;
  if (p.mobile) {
    q.emplace_back("action", "bindcomponent");
    q.emplace_back("no_scan", "1");
  }
  q.emplace_back("component_appid", app.client_id);
  q.emplace_back("pre_auth_code", p.pre_auth_code);
  // The whole callback, state included, is one encoded parameter.
  q.emplace_back("redirect_uri", redirect_uri_with_state(app, p));
  q.emplace_back("auth_type", std::to_string(auth_type));
  if (!biz_appid.empty()) q.emplace_back("biz_appid", biz_appid);
  if (!p.mobile) {
    return platform_util::append_query(platform_util::join_url(mp_base_url, "/cgi-bin/componentloginpage"), q);
  }
  const std::string page = o.mobile_wxaopen ? platform_util::join_url(open_base_url, "/wxaopen/safe/bindcomponent")
                                            : platform_util::join_url(mp_base_url, "/safe/bindcomponent");
  // The fragment is part of the link: WeChat's page reads it, the browser never sends it.
  return platform_util::append_query(page, q) + "#wechat_redirect";
}

// ----- requests -----

HttpRequest build_component_token_request(const std::string& api_base_url, const App& app, const std::string& ticket) {
  return post_json(platform_util::join_url(api_base_url, "/cgi-bin/component/api_component_token"),
                   {{"component_appid", app.client_id},
                    {"component_appsecret", app.client_secret},
                    {"component_verify_ticket", ticket}});
}

HttpRequest build_start_push_request(const std::string& api_base_url, const App& app) {
  return post_json(platform_util::join_url(api_base_url, "/cgi-bin/component/api_start_push_ticket"),
                   {{"component_appid", app.client_id}, {"component_secret", app.client_secret}});
}

HttpRequest build_pre_auth_code_request(const std::string& api_base_url, const App& app, const Options& o,
                                        const std::string& component_token) {
  return post_json(component_url(api_base_url, "/cgi-bin/component/api_create_preauthcode", o, component_token),
                   {{"component_appid", app.client_id}});
}

HttpRequest build_query_auth_request(const std::string& api_base_url, const App& app, const Options& o,
                                     const std::string& component_token, const std::string& auth_code) {
  return post_json(component_url(api_base_url, "/cgi-bin/component/api_query_auth", o, component_token),
                   {{"component_appid", app.client_id}, {"authorization_code", auth_code}});
}

HttpRequest build_authorizer_token_request(const std::string& api_base_url, const App& app, const Options& o,
                                           const std::string& component_token, const std::string& authorizer_appid,
                                           const std::string& refresh_token) {
  return post_json(component_url(api_base_url, "/cgi-bin/component/api_authorizer_token", o, component_token),
                   {{"component_appid", app.client_id},
                    {"authorizer_appid", authorizer_appid},
                    {"authorizer_refresh_token", refresh_token}});
}

HttpRequest build_authorizer_info_request(const std::string& api_base_url, const App& app, const Options& o,
                                          const std::string& component_token, const std::string& authorizer_appid) {
  return post_json(component_url(api_base_url, "/cgi-bin/component/api_get_authorizer_info", o, component_token),
                   {{"component_appid", app.client_id}, {"authorizer_appid", authorizer_appid}});
}

// ----- answers -----

bool is_token_error(const std::string& outcome_code) {
  return outcome_code == "40001" || outcome_code == "40014" || outcome_code == "42001";
}

OutcomeKind kind_for_errcode(std::int64_t errcode, Flow flow) {
  switch (errcode) {
    case 40001:
      // api_component_token carries no token, only the secret: 40001 there means the secret is wrong.
      // Elsewhere the component token was refused; the platform forces one new token and retries once
      // before answering.
      return flow == Flow::component_token ? OutcomeKind::app_misconfigured : OutcomeKind::retry_later;
    case 41004:
    case 40125:
    case 40013:
    case 61004:  // IP whitelist: retrying cannot help until an admin adds the IP
    case 61011:
    case 61024:
      return OutcomeKind::app_misconfigured;
    case 45009:
      return OutcomeKind::rate_limited;
    case 48001:
    case 61007:
      // On a grant's token calls the account's authorization lacks the permission: only its admin can
      // change that. On the platform's own calls the platform lacks it.
      return flow == Flow::authorizer_token || flow == Flow::authorizer_info ? OutcomeKind::needs_reauth
                                                                             : OutcomeKind::app_misconfigured;
    case 61003:  // the account removed the authorization
    case 61009:  // this authorization code is dead; a new authorization gives a new one
    case 61010:
      return OutcomeKind::needs_reauth;
    case 61023:
      // The refresh token was refused; refresh() recovers once through api_get_authorizer_info and
      // only then says needs_reauth.
      return OutcomeKind::needs_reauth;
    // -1 (busy), 40014 / 42001 (token refused or expired), 61005 / 61006 (the ticket: wait for the next
    // push) and codes we do not know.
    default:
      return OutcomeKind::retry_later;
  }
}

namespace {

// The JSON object of a successful answer, or the failure the answer stands for.
struct Answer {
  json body;
  std::optional<Outcome> failure;
};

Answer read_answer(const HttpResponse& r, Flow flow, TimePoint now, const std::vector<std::string>& secrets) {
  const std::string what = endpoint_name(flow);
  Answer a;
  auto to_retry = [&](Outcome o) {
    // WeChat answers every call, errors included, with HTTP 200: anything else is the way there
    // (a proxy, a gateway, an outage), not the app's configuration.
    if (o.kind != OutcomeKind::success) o.kind = OutcomeKind::retry_later;
    return o;
  };
  if (r.status == 0 || r.status >= 500 || r.status == 429) {
    a.failure = to_retry(platform_util::http_failure(r, what, now));
    return a;
  }
  a.body = parse_body_or_null(r.body);
  if (!a.body.is_object()) {
    a.failure = to_retry(platform_util::http_failure(r, what, now));
    return a;
  }
  auto errcode = platform_util::int_member(a.body, "errcode");
  if (errcode && *errcode != 0) {
    std::string errmsg = platform_util::safe_text(platform_util::string_member(a.body, "errmsg"), secrets);
    std::string ip = *errcode == 61004 ? wechat::ip_from_errmsg(errmsg) : "";
    std::string message = meaning(*errcode, flow, ip);
    if (!errmsg.empty()) message += " (WeChat: " + errmsg + ")";
    std::optional<Seconds> retry_after;
    if (*errcode == 45009) {
      // Nothing helps before WeChat's next day (a minute's margin for clock differences).
      retry_after = platform_util::until_next_midnight(now, kQuotaResetUtcOffsetHours) + Seconds(60);
    } else if (*errcode == 61005 || *errcode == 61006) {
      retry_after = kWaitForPush;
    }
    a.failure = Outcome::failure(kind_for_errcode(*errcode, flow), std::to_string(*errcode), std::move(message),
                                 r.status, retry_after);
    return a;
  }
  if (r.status != 200) a.failure = to_retry(platform_util::http_failure(r, what, now));
  return a;
}

Outcome missing(Flow flow, const char* field, int status) {
  return Outcome::failure(OutcomeKind::retry_later, "bad_response",
                          std::string(endpoint_name(flow)) + " answered without " + field, status);
}

}  // namespace

Outcome parse_component_token(const HttpResponse& r, TimePoint now, const std::vector<std::string>& secrets) {
  constexpr Flow flow = Flow::component_token;
  Answer a = read_answer(r, flow, now, secrets);
  if (a.failure) return *a.failure;
  TokenResult t;
  t.access_token = platform_util::string_member(a.body, "component_access_token");
  if (t.access_token.empty()) return missing(flow, "a component_access_token", r.status);
  t.expires_in = platform_util::seconds_member(a.body, "expires_in");
  return platform_util::checked_success(std::move(t), r.status, endpoint_name(flow));
}

Outcome parse_pre_auth_code(const HttpResponse& r, TimePoint now, const std::vector<std::string>& secrets) {
  constexpr Flow flow = Flow::pre_auth_code;
  Answer a = read_answer(r, flow, now, secrets);
  if (a.failure) return *a.failure;
  TokenResult t;
  t.access_token = platform_util::string_member(a.body, "pre_auth_code");
  if (t.access_token.empty()) return missing(flow, "a pre_auth_code", r.status);
  t.expires_in = platform_util::seconds_member(a.body, "expires_in");
  return platform_util::checked_success(std::move(t), r.status, endpoint_name(flow));
}

Outcome parse_query_auth(const HttpResponse& r, TimePoint now, const std::vector<std::string>& secrets) {
  constexpr Flow flow = Flow::query_auth;
  Answer a = read_answer(r, flow, now, secrets);
  if (a.failure) return *a.failure;
  const json& info = authorization_info(a.body);
  TokenResult t;
  read_authorization(info, t);
  if (t.account_id.empty()) return missing(flow, "an authorizer_appid", r.status);
  t.access_token = platform_util::string_member(info, "authorizer_access_token");
  std::string refresh_token = platform_util::string_member(info, "authorizer_refresh_token");
  if (t.access_token.empty() || refresh_token.empty()) {
    // WeChat hands out tokens only for accounts with API permissions (an unverified 公众号, for one,
    // has none): nothing can be refreshed, and only a change at the account helps.
    return Outcome::failure(OutcomeKind::needs_reauth, "no_api_permission",
                            "WeChat gave no authorizer tokens for the account " + platform_util::clean_text(t.account_id) +
                                ": it has no API permission (e.g. an unverified account) or granted none of the "
                                "platform's permission sets; connect again once it has",
                            r.status);
  }
  t.refresh_token = std::move(refresh_token);
  t.expires_in = platform_util::seconds_member(info, "expires_in");
  // The authorizer refresh token does not expire while the authorization stands: no refresh_expires_in.
  return platform_util::checked_success(std::move(t), r.status, endpoint_name(flow));
}

Outcome parse_authorizer_token(const HttpResponse& r, TimePoint now, const std::vector<std::string>& secrets) {
  constexpr Flow flow = Flow::authorizer_token;
  Answer a = read_answer(r, flow, now, secrets);
  if (a.failure) return *a.failure;
  TokenResult t;
  t.access_token = platform_util::string_member(a.body, "authorizer_access_token");
  if (t.access_token.empty()) return missing(flow, "an authorizer_access_token", r.status);
  t.expires_in = platform_util::seconds_member(a.body, "expires_in");
  std::string refresh_token = platform_util::string_member(a.body, "authorizer_refresh_token");
  if (!refresh_token.empty()) t.refresh_token = std::move(refresh_token);
  return platform_util::checked_success(std::move(t), r.status, endpoint_name(flow));
}

Outcome parse_authorizer_info(const HttpResponse& r, TimePoint now, const std::vector<std::string>& secrets) {
  constexpr Flow flow = Flow::authorizer_info;
  Answer a = read_answer(r, flow, now, secrets);
  if (a.failure) return *a.failure;
  auto it = a.body.find("authorization_info");
  if (it == a.body.end() || !it->is_object()) return missing(flow, "authorization_info", r.status);
  TokenResult t;
  read_authorization(*it, t);
  std::string refresh_token = platform_util::string_member(*it, "authorizer_refresh_token");
  if (!refresh_token.empty()) t.refresh_token = std::move(refresh_token);
  return platform_util::checked_success(std::move(t), r.status, endpoint_name(flow));
}

Outcome parse_start_push(const HttpResponse& r, TimePoint now, const std::vector<std::string>& secrets) {
  Answer a = read_answer(r, Flow::start_push, now, secrets);
  if (a.failure) return *a.failure;
  Outcome o = Outcome::success({});
  o.http_status = r.status;
  o.message = platform_util::safe_text(platform_util::string_member(a.body, "errmsg"), secrets);
  return o;
}

}  // namespace wechat_component

namespace {

namespace wc = wechat_component;

std::string url_from(const PlatformSettings& settings, const char* key, const char* fallback) {
  auto p = settings.urls.find("wechat");
  if (p != settings.urls.end()) {
    auto u = p->second.find(key);
    if (u != p->second.end() && !u->second.empty()) return u->second;
  }
  return fallback;
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
                                                 ComponentCredentials* credentials, const Clock* clock)
    : http_(http),
      credentials_(credentials),
      clock_(clock),
      api_base_url_(url_from(settings, "api_base_url", wechat::kDefaultApiBaseUrl)),
      mp_base_url_(url_from(settings, "mp_base_url", wc::kDefaultMpBaseUrl)),
      open_base_url_(url_from(settings, "open_base_url", wechat::kDefaultOpenBaseUrl)) {}

TimePoint WeChatComponentPlatform::now() const { return clock_ != nullptr ? clock_->now() : SysClock::now(); }

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
    const bool id = !s.empty() && s.size() <= 9 && std::all_of(s.begin(), s.end(), [](char c) {
      return c >= '0' && c <= '9';
    });
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
  if (p.auth_type < 0 || p.auth_type > 3) return "auth_type: must be 1 (official accounts), 2 (mini programs) or 3 (both)";
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
  const std::vector<std::string> secrets{app.client_secret, *ticket};
  Outcome out = wc::parse_component_token(http_.send(wc::build_component_token_request(api_base_url_, app, *ticket)),
                                          now(), secrets);
  if (out.code == "61005") {
    // The pushes may have stopped: api_start_push_ticket restarts them (and doubles as a health
    // check). Best effort; what WeChat says is added to the message.
    Outcome pushed = wc::parse_start_push(http_.send(wc::build_start_push_request(api_base_url_, app)), now(),
                                          {app.client_secret});
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
      wc::parse_pre_auth_code, {app.client_secret});
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
      wc::parse_query_auth, {app.client_secret, code});
}

Outcome WeChatComponentPlatform::refresh_with(const App& app, const wc::Options& o,
                                              const std::string& authorizer_appid, const std::string& refresh_token) {
  return component_call(
      app,
      [&](const std::string& token) {
        return wc::build_authorizer_token_request(api_base_url_, app, o, token, authorizer_appid, refresh_token);
      },
      wc::parse_authorizer_token, {app.client_secret, refresh_token});
}

Outcome WeChatComponentPlatform::authorizer_info(const App& app, const wc::Options& o,
                                                 const std::string& authorizer_appid) {
  return component_call(
      app,
      [&](const std::string& token) {
        return wc::build_authorizer_info_request(api_base_url_, app, o, token, authorizer_appid);
      },
      wc::parse_authorizer_info, {app.client_secret});
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
