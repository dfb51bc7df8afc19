#include "platforms/wechat_platform.hpp"

#include <cctype>
#include <nlohmann/json.hpp>

#include "platforms/platform_util.hpp"

namespace mediax {

namespace wechat {

namespace {

using nlohmann::json;
using platform_util::Form;

const char* endpoint_name(Flow flow) {
  switch (flow) {
    case Flow::authorization_code:
      return "WeChat's sns/oauth2/access_token";
    case Flow::refresh_token:
      return "WeChat's sns/oauth2/refresh_token";
    case Flow::app_token:
      return "WeChat's app token endpoint";
  }
  return "WeChat";
}

std::string meaning(std::int64_t code, Flow flow, const std::string& ip) {
  const std::string from = ip.empty() ? "this daemon's address" : "IP " + ip;
  switch (code) {
    case -1:
      return "WeChat is busy";
    case 40001:
      return flow == Flow::refresh_token ? "invalid credential"
                                         : "invalid credential: check the app's secret (AppSecret)";
    case 40002:
      return "invalid grant_type";
    case 40013:
      return "invalid appid: check the app's client_id";
    case 40014:
      return "invalid access token";
    case 40029:
      return "invalid authorization code: connect the account again";
    case 40030:
      return "invalid refresh token: connect the account again";
    case 40125:
      return "invalid AppSecret: check the app's client_secret";
    case 40163:
      return "the authorization code was already used: connect the account again";
    case 40164:
      return "WeChat refused the call from " + from + ": add it to the app's API IP whitelist";
    case 40243:
      return "the AppSecret is frozen: unfreeze it in the WeChat console";
    case 41001:
      return "the access token is missing";
    case 41002:
      return "the appid is missing";
    case 41004:
      return "the secret is missing";
    case 41008:
      return "the authorization code is missing: connect the account again";
    case 42001:
      return "the access token expired";
    case 42002:
      return "the refresh token expired: connect the account again";
    case 42003:
      return "the authorization code timed out: connect the account again";
    case 42007:
      return "the user changed the password; the tokens are invalid: connect the account again";
    case 45009:
      return "the daily API quota is used up";
    case 45011:
      return "the per-minute API quota is used up";
    case 48001:
      return "the app is not authorized for this API";
    case 89501:
      return "an administrator has yet to confirm calls from " + from + " (or whitelist it)";
    case 89503:
      return "calls from " + from + " need an administrator's confirmation: confirm them or whitelist the IP";
    case 89506:
      return "an administrator refused calls from " + from + " twice: it is blocked for 24 hours; whitelist the IP";
    case 89507:
      return "an administrator refused calls from " + from + ": it is blocked for 1 hour; whitelist the IP";
    default:
      return "WeChat error";
  }
}

bool is_ip_code(std::int64_t code) {
  return code == 40164 || code == 89501 || code == 89503 || code == 89506 || code == 89507;
}

HttpRequest get(const std::string& url) {
  HttpRequest req;
  req.method = "GET";
  req.url = url;
  req.headers.emplace_back("Accept", "application/json");
  return req;
}

bool valid_ipv4(const std::string& s) {
  int parts = 0;
  std::size_t i = 0;
  while (i <= s.size()) {
    std::size_t e = s.find('.', i);
    if (e == std::string::npos) e = s.size();
    std::string part = s.substr(i, e - i);
    if (part.empty() || part.size() > 3) return false;
    int v = 0;
    for (char c : part) {
      if (!std::isdigit(static_cast<unsigned char>(c))) return false;
      v = v * 10 + (c - '0');
    }
    if (v > 255) return false;
    ++parts;
    i = e + 1;
  }
  return parts == 4;
}

}  // namespace

std::optional<std::string> parse_options(const json& options, Options& out) {
  out = Options{};
  if (auto e =
          platform_util::unknown_option(options, {"authorize", "scope_mode", "app_token", "daily_token_budget",
                                                  "quota_reset_utc_offset_hours", "refresh_token_lifetime_seconds"})) {
    return e;
  }
  std::string authorize = "qrconnect";
  if (auto e = platform_util::choice_option(options, "authorize", {"qrconnect", "oauth2"}, authorize)) return e;
  out.qrconnect = authorize == "qrconnect";
  std::string scope_mode;
  if (auto e = platform_util::choice_option(options, "scope_mode", {"snsapi_base", "snsapi_userinfo"}, scope_mode)) {
    return e;
  }
  if (out.qrconnect && !scope_mode.empty()) {
    return "options.scope_mode: only with authorize = \"oauth2\" (website QR login always uses snsapi_login)";
  }
  out.scope = out.qrconnect ? "snsapi_login" : scope_mode.empty() ? "snsapi_base" : scope_mode;
  std::string app_token = "stable_token";
  if (auto e = platform_util::choice_option(options, "app_token", {"stable_token", "token"}, app_token)) return e;
  out.stable_token = app_token == "stable_token";
  std::int64_t budget = out.stable_token ? kDefaultForceBudget : kDefaultTokenBudget;
  if (auto e = platform_util::integer_option(options, "daily_token_budget", 0, 1000000, budget)) return e;
  out.daily_token_budget = static_cast<int>(budget);
  std::int64_t offset = out.quota_reset_utc_offset_hours;
  if (auto e = platform_util::integer_option(options, "quota_reset_utc_offset_hours", -12, 14, offset)) return e;
  out.quota_reset_utc_offset_hours = static_cast<int>(offset);
  std::int64_t lifetime = out.refresh_token_lifetime.count();
  if (auto e = platform_util::integer_option(options, "refresh_token_lifetime_seconds", 86400, 31536000, lifetime)) {
    return e;
  }
  out.refresh_token_lifetime = Seconds(lifetime);
  return std::nullopt;
}

std::string build_authorize_url(const std::string& open_base_url, const App& app, const Options& o,
                                const AuthorizeParams& p) {
  Form q{{"appid", app.client_id},
         {"redirect_uri", p.redirect_uri.empty() ? app.redirect_uri : p.redirect_uri},
         {"response_type", "code"},
         {"scope", o.scope},
         {"state", p.state}};
  std::string path = o.qrconnect ? "/connect/qrconnect" : "/connect/oauth2/authorize";
  // The fragment is mandatory; WeChat's page reads it, the browser never sends it.
  return platform_util::append_query(platform_util::join_url(open_base_url, path), q) + "#wechat_redirect";
}

HttpRequest build_code_request(const std::string& api_base_url, const App& app, const std::string& code) {
  return get(platform_util::append_query(
      platform_util::join_url(api_base_url, "/sns/oauth2/access_token"),
      {{"appid", app.client_id}, {"secret", app.client_secret}, {"code", code}, {"grant_type", "authorization_code"}}));
}

HttpRequest build_refresh_request(const std::string& api_base_url, const App& app, const std::string& refresh_token) {
  return get(platform_util::append_query(
      platform_util::join_url(api_base_url, "/sns/oauth2/refresh_token"),
      {{"appid", app.client_id}, {"grant_type", "refresh_token"}, {"refresh_token", refresh_token}}));
}

HttpRequest build_stable_token_request(const std::string& api_base_url, const App& app, bool force_refresh) {
  HttpRequest req;
  req.method = "POST";
  req.url = platform_util::join_url(api_base_url, "/cgi-bin/stable_token");
  req.content_type = "application/json";  // WeChat takes JSON only here
  req.headers.emplace_back("Accept", "application/json");
  req.body = json{{"grant_type", "client_credential"},
                  {"appid", app.client_id},
                  {"secret", app.client_secret},
                  {"force_refresh", force_refresh}}
                 .dump();
  return req;
}

HttpRequest build_token_request(const std::string& api_base_url, const App& app) {
  return get(platform_util::append_query(
      platform_util::join_url(api_base_url, "/cgi-bin/token"),
      {{"grant_type", "client_credential"}, {"appid", app.client_id}, {"secret", app.client_secret}}));
}

OutcomeKind kind_for_errcode(std::int64_t errcode, Flow flow) {
  switch (errcode) {
    case 40001:
      // With the secret in the request it means the secret is wrong; on a refresh (no secret) it is
      // about a token: try again.
      return flow == Flow::refresh_token ? OutcomeKind::retry_later : OutcomeKind::app_misconfigured;
    case 40002:
    case 40013:
    case 40125:
    case 40243:
    case 41001:
    case 41002:
    case 41004:
    case 48001:
    case 40164:  // IP not whitelisted, or an admin must confirm it: retrying blindly cannot help
    case 89501:
    case 89503:
    case 89506:
    case 89507:
      return OutcomeKind::app_misconfigured;
    case 40029:  // this code is dead; a new authorization gives a new one
    case 40163:
    case 41008:
    case 42003:
    case 40030:
    case 42002:
    case 42007:
      return OutcomeKind::needs_reauth;
    case 45009:
    case 45011:
      return OutcomeKind::rate_limited;
    // -1 (busy), 40014 / 42001 (access token invalid or expired: refresh again) and codes we do not know.
    default:
      return OutcomeKind::retry_later;
  }
}

std::string ip_from_errmsg(const std::string& errmsg) {
  // "invalid ip 1.2.3.4 ipv6 ::ffff:1.2.3.4, not in whitelist rid: ...": the first IPv4 address wins.
  std::size_t i = 0;
  while (i < errmsg.size()) {
    if (!std::isdigit(static_cast<unsigned char>(errmsg[i])) ||
        (i > 0 && (std::isalnum(static_cast<unsigned char>(errmsg[i - 1])) || errmsg[i - 1] == '.'))) {
      ++i;
      continue;
    }
    std::size_t e = i;
    while (e < errmsg.size() && (std::isdigit(static_cast<unsigned char>(errmsg[e])) || errmsg[e] == '.')) ++e;
    std::string candidate = errmsg.substr(i, e - i);
    while (!candidate.empty() && candidate.back() == '.') candidate.pop_back();
    if (valid_ipv4(candidate) && (e >= errmsg.size() || !std::isalnum(static_cast<unsigned char>(errmsg[e])))) {
      return candidate;
    }
    i = e;
  }
  // No IPv4: an IPv6 address after "ipv6 " or "ip ".
  for (const char* marker : {"ipv6 ", "ip "}) {
    auto at = errmsg.find(marker);
    if (at == std::string::npos) continue;
    std::size_t b = at + std::char_traits<char>::length(marker);
    std::size_t e = b;
    while (e < errmsg.size() &&
           (std::isxdigit(static_cast<unsigned char>(errmsg[e])) || errmsg[e] == ':' || errmsg[e] == '.')) {
      ++e;
    }
    std::string candidate = errmsg.substr(b, e - b);
    if (candidate.find(':') != std::string::npos && candidate.size() <= 45) return candidate;
  }
  return "";
}

Outcome parse_response(const HttpResponse& r, Flow flow, TimePoint now, const std::vector<std::string>& secrets,
                       int quota_reset_utc_offset_hours) {
  const std::string what = endpoint_name(flow);
  if (r.status == 0 || r.status == 429 || r.status >= 500) return platform_util::http_failure(r, what, now);
  auto j = platform_util::parse_object(r.body);
  if (!j) return platform_util::http_failure(r, what, now);
  auto errcode = platform_util::int_member(*j, "errcode");
  if (errcode && *errcode != 0) {
    std::string errmsg = platform_util::safe_text(platform_util::string_member(*j, "errmsg"), secrets);
    std::string ip = is_ip_code(*errcode) ? ip_from_errmsg(errmsg) : "";
    std::string message = meaning(*errcode, flow, ip);
    if (!errmsg.empty()) message += " (WeChat: " + errmsg + ")";
    std::optional<Seconds> retry_after;
    if (*errcode == 45009) {
      // The daily quota: nothing helps before the next day (a minute's margin for clock differences).
      retry_after = platform_util::until_next_midnight(now, quota_reset_utc_offset_hours) + Seconds(60);
    } else if (*errcode == 45011) {
      retry_after = Seconds(60);
    }
    return Outcome::failure(kind_for_errcode(*errcode, flow), std::to_string(*errcode), std::move(message), r.status,
                            retry_after);
  }
  if (r.status < 200 || r.status >= 300) return platform_util::http_failure(r, what, now);

  TokenResult t;
  t.access_token = platform_util::string_member(*j, "access_token");
  if (t.access_token.empty()) {
    return Outcome::failure(OutcomeKind::retry_later, "bad_response", what + " answered without an access token",
                            r.status);
  }
  t.expires_in = platform_util::seconds_member(*j, "expires_in");
  std::string refresh_token = platform_util::string_member(*j, "refresh_token");
  if (!refresh_token.empty()) t.refresh_token = std::move(refresh_token);
  t.refresh_expires_in = platform_util::seconds_member(*j, "refresh_expires_in");
  t.account_id = platform_util::id_member(*j, "openid");
  t.scopes = platform_util::split(platform_util::string_member(*j, "scope"), ", ");
  std::string unionid = platform_util::id_member(*j, "unionid");
  if (!unionid.empty()) t.extra["unionid"] = unionid;
  if (platform_util::int_member(*j, "is_snapshotuser").value_or(0) == 1) t.extra["is_snapshotuser"] = true;
  return platform_util::checked_success(std::move(t), r.status, what);
}

}  // namespace wechat

namespace {

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

}  // namespace

WeChatPlatform::WeChatPlatform(HttpClient& http, PlatformSettings settings, CallBudget* budget)
    : http_(http),
      settings_(std::move(settings)),
      budget_(budget),
      open_base_url_(url_from(settings_, "open_base_url", wechat::kDefaultOpenBaseUrl)),
      api_base_url_(url_from(settings_, "api_base_url", wechat::kDefaultApiBaseUrl)) {}

AppCheck WeChatPlatform::prepare_app(App& app) {
  if (app.client_id.empty()) return AppCheck::fail("client_id: WeChat's appid is required");
  if (app.client_secret.empty()) return AppCheck::fail("client_secret: WeChat's AppSecret is required");
  if (!app.issuer.empty()) return AppCheck::fail("issuer: not used by wechat");
  if (!app.endpoints.authorize_url.empty() || !app.endpoints.token_url.empty() ||
      !app.endpoints.revocation_url.empty()) {
    return AppCheck::fail(
        "endpoints: not used by wechat; set open_base_url and api_base_url in [platforms.wechat] of the config");
  }
  if (app.token_auth_method != "client_secret_post") {
    return AppCheck::fail("token_auth_method: wechat sends the secret as a parameter (client_secret_post) only");
  }
  wechat::Options o;
  if (auto e = wechat::parse_options(app.options, o)) return AppCheck::fail(*e);
  // The scope follows from the options; a given one must agree.
  if (app.scopes.empty()) {
    app.scopes = {o.scope};
  } else if (app.scopes.size() != 1 || app.scopes[0] != o.scope) {
    return AppCheck::fail("scopes: must be [\"" + o.scope + "\"] with these options (or leave it out)");
  }
  if (app.options.is_null()) app.options = nlohmann::json::object();
  return {};
}

std::string WeChatPlatform::authorize_url(const App& app, const AuthorizeParams& p) const {
  wechat::Options o;
  if (wechat::parse_options(app.options, o)) return "";
  return wechat::build_authorize_url(open_base_url_, app, o, p);
}

Outcome WeChatPlatform::call(const HttpRequest& req, wechat::Flow flow, const std::vector<std::string>& secrets,
                             int reset_offset) {
  // req.url may hold the secret: it is never logged nor put into a message (see redact_url).
  HttpResponse r = http_.send(req);
  return wechat::parse_response(r, flow, SysClock::now(), secrets, reset_offset);
}

Outcome WeChatPlatform::exchange_code(const App& app, const std::string& code, const std::string& /*code_verifier*/,
                                      const std::string& /*redirect_uri*/) {
  wechat::Options o;
  if (auto e = wechat::parse_options(app.options, o)) return bad_options(*e);
  Outcome out = call(wechat::build_code_request(api_base_url_, app, code), wechat::Flow::authorization_code,
                     {app.client_secret, code}, o.quota_reset_utc_offset_hours);
  // WeChat does not say when the refresh token dies; record the documented lifetime so the API
  // shows when the account will have to be connected again.
  if (out.ok() && out.token.refresh_token && !out.token.refresh_expires_in) {
    out.token.refresh_expires_in = o.refresh_token_lifetime;
  }
  return out;
}

Outcome WeChatPlatform::refresh(const App& app, const Grant& grant) {
  if (grant.refresh_token.empty()) {
    return Outcome::failure(OutcomeKind::needs_reauth, "no_refresh_token",
                            "the grant has no refresh token; connect the account again");
  }
  wechat::Options o;
  if (auto e = wechat::parse_options(app.options, o)) return bad_options(*e);
  const TimePoint now = SysClock::now();
  Outcome out =
      call(wechat::build_refresh_request(api_base_url_, app, grant.refresh_token), wechat::Flow::refresh_token,
           {grant.refresh_token, app.client_secret}, o.quota_reset_utc_offset_hours);
  if (!out.ok()) return out;
  TokenResult& t = out.token;
  // The refresh token is never renewed: the answer repeats it. Only a different one is stored, and
  // it keeps the old expiry.
  if (t.refresh_token && *t.refresh_token != grant.refresh_token) {
    t.refresh_expires_in.reset();
    if (grant.refresh_expires_at && *grant.refresh_expires_at > now) {
      t.refresh_expires_in = std::chrono::duration_cast<Seconds>(*grant.refresh_expires_at - now);
    }
  } else {
    t.refresh_token.reset();
    t.refresh_expires_in.reset();
  }
  return out;
}

// Never fetch a new app token while the current one is valid unless forced: the scheduler calls
// this only when the stored token is due (force = an admin's refresh or a consumer's "rejected"
// report), and stable_token without force_refresh returns the same token while it is valid, so a
// due call cannot cut off other holders either.
// What the daily budget counts: every cgi-bin/token call (each one issues a new token; about 2,000
// a day), and with stable_token only the forced calls (force_refresh kills the previous token at
// once; 20 a day). Plain stable_token calls are not counted (500,000 a day).
Outcome WeChatPlatform::client_token(const App& app, const AppTokenCall& why) {
  const bool force = why.reason != AppTokenReason::scheduled;
  wechat::Options o;
  if (auto e = wechat::parse_options(app.options, o)) return bad_options(*e);
  const bool counted = !o.stable_token || force;
  if (counted && budget_ != nullptr) {
    const char* kind = o.stable_token ? wechat::kBudgetForce : wechat::kBudgetToken;
    bool allowed = false;
    try {
      allowed = budget_->try_spend(app.id, kind, o.daily_token_budget);
    } catch (const std::exception&) {
      return Outcome::failure(OutcomeKind::retry_later, "budget_unavailable",
                              "the daily call count of the app could not be checked; trying again later");
    }
    if (!allowed) {
      std::string calls = o.stable_token ? "forced stable_token calls" : "cgi-bin/token calls";
      // cgi-bin/token: no call is possible before the next (UTC) day. A refused forced stable_token call
      // must not hold back the next scheduled one, which is not counted.
      std::optional<Seconds> retry_after;
      if (!o.stable_token) retry_after = platform_util::until_next_midnight(SysClock::now(), 0);
      return Outcome::failure(OutcomeKind::rate_limited, "daily_budget",
                              "the app's daily budget of " + std::to_string(o.daily_token_budget) + " " + calls +
                                  " is spent (options.daily_token_budget); the current token stays in use",
                              0, retry_after);
    }
  }
  HttpRequest req = o.stable_token ? wechat::build_stable_token_request(api_base_url_, app, force)
                                   : wechat::build_token_request(api_base_url_, app);
  return call(req, wechat::Flow::app_token, {app.client_secret}, o.quota_reset_utc_offset_hours);
}

Outcome WeChatPlatform::revoke(const App& /*app*/, const Grant& /*grant*/) {
  Outcome o = Outcome::success({});
  o.code = "not_supported";
  o.message = "WeChat has no revocation endpoint; the user can remove the authorization in WeChat";
  return o;
}

}  // namespace mediax
