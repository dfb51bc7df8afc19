#include "platforms/wechat_platform.hpp"

#include <cctype>
#include <nlohmann/json.hpp>

#include "platforms/platform_util.hpp"
#include "util/strings.hpp"
#include "util/url.hpp"

namespace mediax {

namespace wechat {

namespace {

using nlohmann::json;
using platform_util::Form;

const char* endpoint_name(Flow flow) {
  static constexpr std::pair<Flow, const char*> kNames[] = {
      {Flow::authorization_code, "WeChat's sns/oauth2/access_token"},
      {Flow::refresh_token, "WeChat's sns/oauth2/refresh_token"},
      {Flow::app_token, "WeChat's app token endpoint"},
  };
  for (const auto& [f, name] : kNames) {
    if (f == flow) return name;
  }
  return "WeChat";
}

std::string meaning(std::int64_t code, Flow flow, const std::string& ip) {
  const std::string from = ip.empty() ? "this daemon's address" : "IP " + ip;
  switch (code) {
    case -1: return "WeChat is busy";
    case 40001:
      return flow == Flow::refresh_token ? "invalid credential"
                                         : "invalid credential: check the app's secret (AppSecret)";
    case 40002: return "invalid grant_type";
    case 40013: return "invalid appid: check the app's client_id";
    case 40014: return "invalid access token";
    case 40029: return "invalid authorization code: connect the account again";
    case 40030: return "invalid refresh token: connect the account again";
    case 40125: return "invalid AppSecret: check the app's client_secret";
    case 40163: return "the authorization code was already used: connect the account again";
    case 40164: return "WeChat refused the call from " + from + ": add it to the app's API IP whitelist";
    case 40243: return "the AppSecret is frozen: unfreeze it in the WeChat console";
    case 41001: return "the access token is missing";
    case 41002: return "the appid is missing";
    case 41004: return "the secret is missing";
    case 41008: return "the authorization code is missing: connect the account again";
    case 42001: return "the access token expired";
    case 42002: return "the refresh token expired: connect the account again";
    case 42003: return "the authorization code timed out: connect the account again";
    case 42007: return "the user changed the password; the tokens are invalid: connect the account again";
    case 45009: return "the daily API quota is used up";
    case 45011: return "the per-minute API quota is used up";
    case 48001: return "the app is not authorized for this API";
    case 89501:
      return "an administrator has yet to confirm calls from " + from +
             " in WeChat (or whitelist the IP); asking again every hour";
    case 89503: return "calls from " + from + " need an administrator's confirmation: confirm them or whitelist the IP";
    case 89506:
      return "an administrator refused calls from " + from + " twice: it is blocked for 24 hours; whitelist the IP";
    case 89507: return "an administrator refused calls from " + from + ": it is blocked for 1 hour; whitelist the IP";
    default: return "WeChat error";
  }
}

bool is_ip_code(std::int64_t code) {
  return code == 40164 || code == 89501 || code == 89503 || code == 89506 || code == 89507;
}

ClientRequest get(const std::string& url) {
  ClientRequest req;
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
  if (auto e = platform_util::unknown_option(options, {"authorize", "scope_mode", "app_token", "daily_token_budget",
                                                       "quota_reset_utc_offset_hours", "refresh_token_lifetime_seconds",
                                                       "force_on_reject"})) {
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
  if (auto e = platform_util::bool_option(options, "force_on_reject", out.force_on_reject)) return e;
  if (out.force_on_reject && !out.stable_token) {
    return "options.force_on_reject: only with app_token = \"stable_token\" (every cgi-bin/token call issues a new "
           "token)";
  }
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

ClientRequest build_code_request(const std::string& api_base_url, const App& app, const std::string& code) {
  return get(platform_util::append_query(
      platform_util::join_url(api_base_url, "/sns/oauth2/access_token"),
      {{"appid", app.client_id}, {"secret", app.client_secret}, {"code", code}, {"grant_type", "authorization_code"}}));
}

ClientRequest build_refresh_request(const std::string& api_base_url, const App& app, const std::string& refresh_token) {
  return get(platform_util::append_query(
      platform_util::join_url(api_base_url, "/sns/oauth2/refresh_token"),
      {{"appid", app.client_id}, {"grant_type", "refresh_token"}, {"refresh_token", refresh_token}}));
}

ClientRequest build_stable_token_request(const std::string& api_base_url, const App& app, bool force_refresh) {
  ClientRequest req;
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

ClientRequest build_token_request(const std::string& api_base_url, const App& app) {
  return get(platform_util::append_query(
      platform_util::join_url(api_base_url, "/cgi-bin/token"),
      {{"grant_type", "client_credential"}, {"appid", app.client_id}, {"secret", app.client_secret}}));
}

OutcomeKind kind_for_errcode(std::int64_t errcode, Flow flow) {
  // With the secret in the request it means the secret is wrong; on a refresh (no secret) it is
  // about a token: try again.
  if (errcode == 40001) return flow == Flow::refresh_token ? OutcomeKind::retry_later : OutcomeKind::app_misconfigured;
  static const std::vector<platform_util::CodeKinds> kCodes = {
      // 40164, 89503, 89506, 89507: IP not whitelisted, or an admin must confirm it (89503), or refused it:
      // retrying blindly cannot help. 89506/89507 block the IP for 24 h/1 h, but a retry after the block
      // would only push the admin who refused another confirmation: whitelisting the IP is the fix.
      {OutcomeKind::app_misconfigured,
       {40002, 40013, 40125, 40243, 41001, 41002, 41004, 48001, 40164, 89503, 89506, 89507}},
      // 40029: this code is dead, a new authorization gives a new one.
      {OutcomeKind::needs_reauth, {40029, 40163, 41008, 42003, 40030, 42002, 42007}},
      // 89501: an admin's confirmation is pending: WeChat answered, the app is fine, the answer comes later
      // (retry_after kConfirmationRetry; not retry_later, which would count against the endpoint's breaker).
      {OutcomeKind::rate_limited, {45009, 45011, 89501}},
  };
  // -1 (busy), 40014 / 42001 (access token invalid or expired: refresh again) and codes we do not know.
  return platform_util::kind_of_code(errcode, kCodes, OutcomeKind::retry_later);
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

Outcome parse_response(const ClientResponse& r, Flow flow, TimePoint now, const std::vector<std::string>& secrets,
                       int quota_reset_utc_offset_hours) {
  const std::string what = endpoint_name(flow);
  if (platform_util::status_decides(r.status)) return platform_util::http_failure(r, what, now);
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
    } else if (*errcode == 89501) {
      retry_after = kConfirmationRetry;
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
  t.scopes = util::split(platform_util::string_member(*j, "scope"), ", ");
  std::string unionid = platform_util::id_member(*j, "unionid");
  if (!unionid.empty()) t.extra["unionid"] = unionid;
  if (platform_util::int_member(*j, "is_snapshotuser").value_or(0) == 1) t.extra["is_snapshotuser"] = true;
  return platform_util::checked_success(std::move(t), r.status, what);
}

CallLimit budget_limit(const Options& o) {
  CallLimit limit;
  limit.daily_limit = o.daily_token_budget;
  limit.utc_offset_hours = o.quota_reset_utc_offset_hours;
  if (o.stable_token) limit.min_gap = kForceGap;
  return limit;
}

std::string budget_refusal(const CallSpend& spend, const Options& o) {
  if (spend.verdict == CallSpend::Verdict::too_soon && spend.last_at) {
    return "the previous forced stable_token call was at " + format_time(*spend.last_at) + ", less than " +
           std::to_string(kForceGap.count()) +
           " s before, and WeChat ignores a forced call that soon (next possible at " +
           format_time(*spend.last_at + kForceGap) + ")";
  }
  const std::string calls = o.stable_token ? "forced stable_token calls" : "cgi-bin/token calls";
  const int h = o.quota_reset_utc_offset_hours;
  return "the app's daily budget of " + std::to_string(o.daily_token_budget) + " " + calls +
         " is spent (options.daily_token_budget; WeChat's day starts at midnight UTC" + (h < 0 ? "-" : "+") +
         std::to_string(h < 0 ? -h : h) + ")";
}

Outcome refused_by_budget(const CallSpend& spend, const Options& o, TimePoint now) {
  // cgi-bin/token: no call is possible before WeChat's next day. A refused forced stable_token call
  // gets no retry_after: it must not hold back the next scheduled call, which is not forced.
  std::optional<Seconds> retry_after;
  if (!o.stable_token) retry_after = platform_util::until_next_midnight(now, o.quota_reset_utc_offset_hours);
  return Outcome::failure(OutcomeKind::rate_limited,
                          spend.verdict == CallSpend::Verdict::too_soon ? "force_too_soon" : "daily_budget",
                          budget_refusal(spend, o) + "; the current token stays in use", 0, retry_after);
}

RejectedNext after_normal_answer(const Outcome& normal, const std::string& rejected_token, const Options& o) {
  if (!normal.ok() || normal.token.access_token != rejected_token) return RejectedNext::answer;
  return o.force_on_reject ? RejectedNext::force : RejectedNext::explain;
}

Outcome still_current(Outcome normal, const App& app, const std::string& why_not) {
  std::string left;
  if (normal.token.expires_in) left = ", valid " + std::to_string(normal.token.expires_in->count()) + " s more";
  normal.code = kTokenStillCurrent;
  normal.message = "WeChat still answers with the refused token: it is the app's current stable_token" + left +
                   ", and other systems hold it too. No new token was forced: " + why_not +
                   ". Check the refused call (the API's permissions, the IP whitelist); if the token has leaked, "
                   "an admin can force a new one with POST /v1/apps/" +
                   app.name + "/refresh";
  return normal;
}

}  // namespace wechat

namespace {

// Both WeChat platforms read [platforms.wechat].
std::string url_from(const PlatformSettings& settings, const char* key, const char* fallback) {
  return platform_util::configured_url(settings, "wechat", key, fallback);
}

Outcome bad_options(const std::string& error) {
  return Outcome::failure(OutcomeKind::app_misconfigured, "bad_options", error);
}

}  // namespace

WeChatPlatform::WeChatPlatform(HttpClient& http, PlatformSettings settings, CallBudget* budget, const TimeSource* clock)
    : http_(http),
      settings_(std::move(settings)),
      budget_(budget),
      clock_(clock),
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

Outcome WeChatPlatform::call(const ClientRequest& req, wechat::Flow flow, const std::vector<std::string>& secrets,
                             int reset_offset) {
  // req.url may hold the secret: it is never logged nor put into a message (see redact_url).
  ClientResponse r = http_.send(req);
  return wechat::parse_response(r, flow, now(), secrets, reset_offset);
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
  const TimePoint before = now();
  Outcome out = call(wechat::build_refresh_request(api_base_url_, app, grant.refresh_token),
                     wechat::Flow::refresh_token, {grant.refresh_token, app.client_secret},
                     o.quota_reset_utc_offset_hours);
  if (!out.ok()) return out;
  TokenResult& t = out.token;
  // The refresh token is never renewed: the answer repeats it. Only a different one is stored, and
  // it keeps the old expiry.
  if (t.refresh_token && *t.refresh_token != grant.refresh_token) {
    t.refresh_expires_in.reset();
    if (grant.refresh_expires_at && *grant.refresh_expires_at > before) {
      t.refresh_expires_in = std::chrono::duration_cast<Seconds>(*grant.refresh_expires_at - before);
    }
  } else {
    t.refresh_token.reset();
    t.refresh_expires_in.reset();
  }
  return out;
}

TimePoint WeChatPlatform::now() const { return clock_ != nullptr ? clock_->system() : SysClock::now(); }

std::optional<CallSpend> WeChatPlatform::spend(const App& app, const wechat::Options& o, const char* kind) {
  if (budget_ == nullptr) return CallSpend{};
  try {
    return budget_->try_spend(app.id, kind, wechat::budget_limit(o));
  } catch (const std::exception&) {
    return std::nullopt;
  }
}

namespace {

Outcome budget_unavailable() {
  return Outcome::failure(OutcomeKind::retry_later, "budget_unavailable",
                          "the daily call count of the app could not be checked; trying again later");
}

}  // namespace

Outcome WeChatPlatform::stable_call(const App& app, const wechat::Options& o, bool force) {
  Outcome out = call(wechat::build_stable_token_request(api_base_url_, app, force), wechat::Flow::app_token,
                     {app.client_secret}, o.quota_reset_utc_offset_hours);
  // 45009 on a forced call: WeChat's 20 forced calls a day are spent (other systems with the AppSecret
  // count too). Normal mode has its own quota (500,000 a day): waiting for midnight would let the
  // current token expire unrenewed.
  if (force && out.code == "45009") out.retry_after.reset();
  return out;
}

// A new app token is fetched only when the stored one is due, an admin forces one, or a consumer
// reports it refused. What the daily budget counts: every cgi-bin/token call (each one issues a new
// token; about 2,000 a day), and with stable_token only the forced calls (force_refresh kills the
// current token at once, for every holder; 20 a day, 30 s apart). Plain stable_token calls are not
// counted (500,000 a day): they return the current token, or its successor in its last 5 minutes.
Outcome WeChatPlatform::client_token(const App& app, const AppTokenCall& why) {
  wechat::Options o;
  if (auto e = wechat::parse_options(app.options, o)) return bad_options(*e);
  if (!o.stable_token || why.reason == AppTokenReason::forced) {
    auto spent = spend(app, o, o.stable_token ? wechat::kBudgetForce : wechat::kBudgetToken);
    if (!spent) return budget_unavailable();
    if (!spent->counted()) return wechat::refused_by_budget(*spent, o, now());
    if (o.stable_token) return stable_call(app, o, true);
    return call(wechat::build_token_request(api_base_url_, app), wechat::Flow::app_token, {app.client_secret},
                o.quota_reset_utc_offset_hours);
  }
  Outcome normal = stable_call(app, o, false);
  if (why.reason != AppTokenReason::rejected || !why.rejected_token) return normal;
  // A consumer says the token was refused. WeChat's normal answer is the newer token when there is
  // one; if it is still the refused token, forcing would cut off every other holder of a token WeChat
  // calls valid: only when the app allows it, within the budget and 30 s after the last forced call.
  switch (wechat::after_normal_answer(normal, *why.rejected_token, o)) {
    case wechat::RejectedNext::answer: return normal;
    case wechat::RejectedNext::explain:
      return wechat::still_current(std::move(normal), app, "options.force_on_reject is off");
    case wechat::RejectedNext::force: break;
  }
  auto spent = spend(app, o, wechat::kBudgetForce);
  if (!spent) return budget_unavailable();
  if (!spent->counted()) return wechat::still_current(std::move(normal), app, wechat::budget_refusal(*spent, o));
  Outcome renewed = stable_call(app, o, true);
  if (renewed.code == "45009") {
    // WeChat did not force (its quota): the refused token is still the current one.
    return wechat::still_current(std::move(normal), app, "WeChat refused the forced call: " + renewed.message);
  }
  return renewed;
}

Outcome WeChatPlatform::revoke(const App& /*app*/, const Grant& /*grant*/) {
  Outcome o = Outcome::success({});
  o.code = "not_supported";
  o.message = "WeChat has no revocation endpoint; the user can remove the authorization in WeChat";
  return o;
}

}  // namespace mediax
