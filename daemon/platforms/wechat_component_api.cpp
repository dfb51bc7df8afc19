// The pure half of wechat_component_platform.hpp: options, links, request builders, answer parsers
// and the error table of the WeChat third-party platform (namespace wechat_component). The glue
// class is in wechat_component_platform.cpp.
#include <algorithm>
#include <cctype>
#include <nlohmann/json.hpp>

#include "platforms/platform_util.hpp"
#include "platforms/wechat_component_platform.hpp"
#include "platforms/wechat_platform.hpp"

namespace mediax {

namespace wechat_component {

namespace {

using nlohmann::json;
using platform_util::Form;

const char* endpoint_name(Flow flow) {
  static constexpr std::pair<Flow, const char*> kNames[] = {
      {Flow::component_token, "WeChat's api_component_token"},
      {Flow::start_push, "WeChat's api_start_push_ticket"},
      {Flow::pre_auth_code, "WeChat's api_create_preauthcode"},
      {Flow::query_auth, "WeChat's api_query_auth"},
      {Flow::authorizer_token, "WeChat's api_authorizer_token"},
      {Flow::authorizer_info, "WeChat's api_get_authorizer_info"},
  };
  for (const auto& [f, name] : kNames) {
    if (f == flow) return name;
  }
  return "WeChat";
}

std::string meaning(std::int64_t code, Flow flow, const std::string& ip) {
  switch (code) {
    case -1: return "WeChat is busy";
    case 40001:
      return flow == Flow::component_token
                 ? "invalid credential: check the app's client_secret (the platform's AppSecret)"
                 : "WeChat refused the component access token";
    case 40013: return "invalid appid: check the app's client_id (the platform's component_appid)";
    case 40014: return "WeChat refused the component access token (invalid)";
    case 42001: return "the component access token expired";
    case 41004: return "the AppSecret is missing: check the app's client_secret";
    case 40125: return "invalid AppSecret: check the app's client_secret";
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
    case 61003: return "the account no longer authorizes this platform: connect it again";
    case 61004: {
      const std::string what = ip.empty() ? "this daemon's outgoing IP addresses" : "the IP " + ip;
      return "WeChat refused the call from " + (ip.empty() ? std::string("this daemon") : "IP " + ip) + ": whitelist " +
             what + " on the WeChat open platform (the third-party platform's IP whitelist)";
    }
    case 61005:
      return "the component_verify_ticket expired (older than 12 h): waiting for WeChat's next push; check that "
             "the event URL registered on the WeChat open platform receives the pushes";
    case 61006:
      return "WeChat refused the component_verify_ticket: waiting for WeChat's next push; check that the event "
             "URL registered on the WeChat open platform receives the pushes";
    case 61009: return "the authorization code is invalid: connect again";
    case 61010: return "the authorization code expired: connect again";
    case 61011: return "invalid component: check the app's client_id (the platform's component_appid)";
    case 61023: return "WeChat refused the authorizer refresh token";
    case 61024: return "the appid is a third-party platform's: its token comes from api_component_token only";
    default: return "WeChat error";
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

HttpClientRequest post_json(const std::string& url, const json& body) {
  HttpClientRequest req;
  req.method = "POST";
  req.url = url;
  req.content_type = "application/json";
  req.headers.emplace_back("Accept", "application/json");
  req.body = body.dump();
  return req;
}

std::string component_url(const std::string& api_base_url, const char* path, const Options& o,
                          const std::string& component_token) {
  return platform_util::append_query(platform_util::join_url(api_base_url, path), {{o.token_param, component_token}});
}

bool ascii_alnum(char c) { return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9'); }

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
  if (!token)
    return "options.message_token: required: the message verification token (消息校验Token) set on the "
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

HttpClientRequest build_component_token_request(const std::string& api_base_url, const App& app,
                                                const std::string& ticket) {
  return post_json(platform_util::join_url(api_base_url, "/cgi-bin/component/api_component_token"),
                   {{"component_appid", app.client_id},
                    {"component_appsecret", app.client_secret},
                    {"component_verify_ticket", ticket}});
}

HttpClientRequest build_start_push_request(const std::string& api_base_url, const App& app) {
  return post_json(platform_util::join_url(api_base_url, "/cgi-bin/component/api_start_push_ticket"),
                   {{"component_appid", app.client_id}, {"component_secret", app.client_secret}});
}

HttpClientRequest build_pre_auth_code_request(const std::string& api_base_url, const App& app, const Options& o,
                                              const std::string& component_token) {
  return post_json(component_url(api_base_url, "/cgi-bin/component/api_create_preauthcode", o, component_token),
                   {{"component_appid", app.client_id}});
}

HttpClientRequest build_query_auth_request(const std::string& api_base_url, const App& app, const Options& o,
                                           const std::string& component_token, const std::string& auth_code) {
  return post_json(component_url(api_base_url, "/cgi-bin/component/api_query_auth", o, component_token),
                   {{"component_appid", app.client_id}, {"authorization_code", auth_code}});
}

HttpClientRequest build_authorizer_token_request(const std::string& api_base_url, const App& app, const Options& o,
                                                 const std::string& component_token,
                                                 const std::string& authorizer_appid,
                                                 const std::string& refresh_token) {
  return post_json(component_url(api_base_url, "/cgi-bin/component/api_authorizer_token", o, component_token),
                   {{"component_appid", app.client_id},
                    {"authorizer_appid", authorizer_appid},
                    {"authorizer_refresh_token", refresh_token}});
}

HttpClientRequest build_authorizer_info_request(const std::string& api_base_url, const App& app, const Options& o,
                                                const std::string& component_token,
                                                const std::string& authorizer_appid) {
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
    case 61024: return OutcomeKind::app_misconfigured;
    case 45009: return OutcomeKind::rate_limited;
    case 48001:
    case 61007:
      // On a grant's token calls the account's authorization lacks the permission: only its admin can
      // change that. On the platform's own calls the platform lacks it.
      return flow == Flow::authorizer_token || flow == Flow::authorizer_info ? OutcomeKind::needs_reauth
                                                                             : OutcomeKind::app_misconfigured;
    case 61003:  // the account removed the authorization
    case 61009:  // this authorization code is dead; a new authorization gives a new one
    case 61010: return OutcomeKind::needs_reauth;
    case 61023:
      // The refresh token was refused; refresh() recovers once through api_get_authorizer_info and
      // only then says needs_reauth.
      return OutcomeKind::needs_reauth;
    // -1 (busy), 40014 / 42001 (token refused or expired), 61005 / 61006 (the ticket: wait for the next
    // push) and codes we do not know.
    default: return OutcomeKind::retry_later;
  }
}

namespace {

// The JSON object of a successful answer, or the failure the answer stands for.
struct Answer {
  json body;
  std::optional<Outcome> failure;
};

Answer read_answer(const HttpClientResponse& r, Flow flow, TimePoint now, const std::vector<std::string>& secrets) {
  const std::string what = endpoint_name(flow);
  Answer a;
  auto to_retry = [&](Outcome o) {
    // WeChat answers every call, errors included, with HTTP 200: anything else is the way there
    // (a proxy, a gateway, an outage), not the app's configuration.
    // (An address the outbound guard refused is the daemon's configuration: it stays app_misconfigured.)
    if (o.kind != OutcomeKind::success && o.code != kAddressNotAllowed) o.kind = OutcomeKind::retry_later;
    return o;
  };
  if (platform_util::status_decides(r.status)) {
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

// An answer that carries one credential (`member`) and its expires_in, as token.access_token.
Outcome parse_one_credential(const HttpClientResponse& r, TimePoint now, const std::vector<std::string>& secrets,
                             Flow flow, const char* member) {
  Answer a = read_answer(r, flow, now, secrets);
  if (a.failure) return *a.failure;
  TokenResult t;
  t.access_token = platform_util::string_member(a.body, member);
  if (t.access_token.empty()) return missing(flow, (std::string("a ") + member).c_str(), r.status);
  t.expires_in = platform_util::seconds_member(a.body, "expires_in");
  return platform_util::checked_success(std::move(t), r.status, endpoint_name(flow));
}

}  // namespace

Outcome parse_component_token(const HttpClientResponse& r, TimePoint now, const std::vector<std::string>& secrets) {
  return parse_one_credential(r, now, secrets, Flow::component_token, "component_access_token");
}

Outcome parse_pre_auth_code(const HttpClientResponse& r, TimePoint now, const std::vector<std::string>& secrets) {
  return parse_one_credential(r, now, secrets, Flow::pre_auth_code, "pre_auth_code");
}

Outcome parse_query_auth(const HttpClientResponse& r, TimePoint now, const std::vector<std::string>& secrets) {
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
                            "WeChat gave no authorizer tokens for the account " +
                                platform_util::clean_text(t.account_id) +
                                ": it has no API permission (e.g. an unverified account) or granted none of the "
                                "platform's permission sets; connect again once it has",
                            r.status);
  }
  t.refresh_token = std::move(refresh_token);
  t.expires_in = platform_util::seconds_member(info, "expires_in");
  // The authorizer refresh token does not expire while the authorization stands: no refresh_expires_in.
  return platform_util::checked_success(std::move(t), r.status, endpoint_name(flow));
}

Outcome parse_authorizer_token(const HttpClientResponse& r, TimePoint now, const std::vector<std::string>& secrets) {
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

Outcome parse_authorizer_info(const HttpClientResponse& r, TimePoint now, const std::vector<std::string>& secrets) {
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

Outcome parse_start_push(const HttpClientResponse& r, TimePoint now, const std::vector<std::string>& secrets) {
  Answer a = read_answer(r, Flow::start_push, now, secrets);
  if (a.failure) return *a.failure;
  Outcome o = Outcome::success({});
  o.http_status = r.status;
  o.message = platform_util::safe_text(platform_util::string_member(a.body, "errmsg"), secrets);
  return o;
}

}  // namespace wechat_component

}  // namespace mediax
