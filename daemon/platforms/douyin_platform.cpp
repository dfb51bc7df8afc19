#include "platforms/douyin_platform.hpp"

#include <algorithm>

#include <nlohmann/json.hpp>

#include "platforms/platform_util.hpp"
#include "util/strings.hpp"
#include "util/url.hpp"

namespace mediax {

namespace douyin {

namespace {

using nlohmann::json;

const char* endpoint_name(Flow flow) {
  static constexpr std::pair<Flow, const char*> kNames[] = {
      {Flow::authorization_code, "Douyin's oauth/access_token"},
      {Flow::refresh_token, "Douyin's oauth/refresh_token"},
      {Flow::renew_refresh_token, "Douyin's oauth/renew_refresh_token"},
      {Flow::client_token, "Douyin's oauth/client_token"},
  };
  for (const auto& [f, name] : kNames) {
    if (f == flow) return name;
  }
  return "Douyin";
}

// What a documented code means, for the message when Douyin's own description is empty.
const char* meaning(std::int64_t code, Flow flow) {
  switch (code) {
    case 10001: return "Douyin system error";
    case 10002: return "parameter error";
    case 10003: return "client_key does not exist or its configuration is invalid";
    case 10004:
      return flow == Flow::renew_refresh_token ? "no permission: the app needs Douyin's renew_refresh_token permission "
                                                 "(or set options.max_renewals to 0)"
                                               : "no permission for this call";
    case 10005: return "a parameter is missing";
    case 10006: return "illegal redirect URI: register the daemon's callback URL at Douyin";
    case 10007: return "the authorization code expired or was used: connect the account again";
    case 10008: return "the access token is invalid or expired";
    case 10010: return "the refresh token has expired: connect the account again";
    case 10011: return "the app's package name does not match its configuration";
    case 10012: return "the app is under review";
    case 10013: return "client_key or client_secret is wrong";
    case 10014: return "the authorization code was issued to another client_key";
    case 10015: return "wrong app type";
    case 10017: return "the app signature does not match its configuration";
    case 10020:
      return flow == Flow::renew_refresh_token
                 ? "the refresh token was renewed as often as Douyin allows: connect the account again"
                 : "too many calls";
    case 2100004: return "Douyin is busy";
    case 2100005: return "parameter error";
    case 2190001: return "quota used up";
    case 2190002: return "the access token is invalid";
    case 2190008: return "the access token expired";
    case 28001005: return "Douyin is busy";
    case 28001008: return "the access token expired";
    case 28001014: return "the app lacks the capability this call needs";
    case 28001016: return "the app is banned or offline at Douyin";
    case 28001018:
    case 28001019: return "the app's capability is blocked or not granted";
    case 28001020: return "the user is not bound to this test app";
    case 28001021: return "the test app has expired";
    case 28001045: return "the user's account is deactivated: connect the account again";
    case 28001046: return "the user's account is banned: connect the account again";
    case 28001047: return "the user's account is private: connect the account again";
    case 28003017: return "quota used up";
    case 28003018: return "calls too frequent";
    default: return "Douyin error";
  }
}

std::string with_path(const std::string& base_url, const char* path) { return platform_util::join_url(base_url, path); }

ClientRequest form_post(const std::string& url, const platform_util::Form& fields) {
  ClientRequest req;
  req.method = "POST";
  req.url = url;
  req.content_type = "application/x-www-form-urlencoded";
  req.headers.emplace_back("Accept", "application/json");
  req.body = form_encode(fields);
  return req;
}

}  // namespace

std::optional<std::string> parse_options(const json& options, Options& out) {
  out = Options{};
  if (auto e = platform_util::unknown_option(options, {"renew_before_seconds", "renew_window_seconds", "max_renewals",
                                                       "client_token", "optional_scopes", "base_url"})) {
    return e;
  }
  // renew_window_seconds is the name of apps registered before renewal had its own schedule; it
  // is read as renew_before_seconds (and cut to half the refresh token's lifetime like it).
  const bool old_name = options.is_object() && options.contains("renew_window_seconds");
  if (old_name && options.contains("renew_before_seconds")) {
    return std::string("options.renew_window_seconds: the old name of renew_before_seconds; give only one");
  }
  const char* before_key = old_name ? "renew_window_seconds" : "renew_before_seconds";
  std::int64_t before = out.renew_before.count();
  if (auto e = platform_util::integer_option(options, before_key, 60, kRefreshTokenLifetime, before)) return e;
  out.renew_before = Seconds(before);
  std::int64_t max = out.max_renewals;
  if (auto e = platform_util::integer_option(options, "max_renewals", 0, 100, max)) return e;
  out.max_renewals = static_cast<int>(max);
  std::string endpoint = "client_token";
  if (auto e =
          platform_util::choice_option(options, "client_token", {"client_token", "stable_client_token"}, endpoint)) {
    return e;
  }
  out.stable_client_token = endpoint == "stable_client_token";
  if (options.is_object() && options.contains("optional_scopes")) {
    const json& o = options["optional_scopes"];
    if (!o.is_object()) {
      return std::string("options.optional_scopes: an object of scope: true|false (ticked at first or not)");
    }
    for (const auto& [scope, ticked] : o.items()) {
      if (scope.empty() || scope.find(',') != std::string::npos || scope.find(' ') != std::string::npos) {
        return "options.optional_scopes: '" + scope.substr(0, 64) + "' is not a Douyin scope (no ',' or space)";
      }
      if (!ticked.is_boolean()) return "options.optional_scopes." + scope + ": true or false";
      out.optional_scopes.emplace_back(scope, ticked.get<bool>());
    }
  }
  if (options.is_object() && options.contains("base_url")) {
    const json& u = options["base_url"];
    auto parsed = u.is_string() ? parse_url(u.get<std::string>()) : std::nullopt;
    if (!parsed || parsed->target.find('?') != std::string::npos) {
      return std::string(
          "options.base_url: an http(s) URL without credentials or query, e.g. "
          "https://open-sandbox.douyin.com");
    }
    out.base_url = u.get<std::string>();
    while (!out.base_url.empty() && out.base_url.back() == '/') out.base_url.pop_back();
  }
  return std::nullopt;
}

std::string build_authorize_url(const std::string& base_url, const App& app, const AuthorizeParams& p,
                                const Options& options) {
  platform_util::Form q{
      {"client_key", app.client_id}, {"response_type", "code"}, {"scope", platform_util::join(app.scopes, ",")}};
  if (!options.optional_scopes.empty()) {
    // optionalScope=scope,1,scope2,0: the user may untick these; 1 = ticked at first.
    std::vector<std::string> pairs;
    for (const auto& [scope, ticked] : options.optional_scopes) {
      pairs.push_back(scope);
      pairs.push_back(ticked ? "1" : "0");
    }
    q.emplace_back("optionalScope", platform_util::join(pairs, ","));
  }
  q.emplace_back("redirect_uri", p.redirect_uri.empty() ? app.redirect_uri : p.redirect_uri);
  q.emplace_back("state", p.state);
  return platform_util::append_query(with_path(base_url, "/platform/oauth/connect/"), q);
}

ClientRequest build_code_request(const std::string& base_url, const App& app, const std::string& code) {
  // Douyin's page stresses form encoding, not JSON, for this endpoint.
  return form_post(with_path(base_url, "/oauth/access_token/"), {{"client_key", app.client_id},
                                                                 {"client_secret", app.client_secret},
                                                                 {"code", code},
                                                                 {"grant_type", "authorization_code"}});
}

ClientRequest build_refresh_request(const std::string& base_url, const App& app, const std::string& refresh_token) {
  // No client_secret: Douyin does not take it here, and a secret not sent cannot leak.
  return form_post(with_path(base_url, "/oauth/refresh_token/"),
                   {{"client_key", app.client_id}, {"grant_type", "refresh_token"}, {"refresh_token", refresh_token}});
}

ClientRequest build_renew_request(const std::string& base_url, const App& app, const std::string& refresh_token) {
  return form_post(with_path(base_url, "/oauth/renew_refresh_token/"),
                   {{"client_key", app.client_id}, {"refresh_token", refresh_token}});
}

ClientRequest build_client_token_request(const std::string& base_url, const App& app, bool stable) {
  ClientRequest req;
  req.method = "POST";
  req.url = with_path(base_url, stable ? "/oauth/stable_client_token/" : "/oauth/client_token/");
  req.content_type = "application/json";
  req.headers.emplace_back("Accept", "application/json");
  req.body =
      json{{"client_key", app.client_id}, {"client_secret", app.client_secret}, {"grant_type", "client_credential"}}
          .dump();
  return req;
}

OutcomeKind kind_for_error_code(std::int64_t code, Flow flow) {
  // On renew: the renewal limit is reached, the user must authorize again. Elsewhere: too many calls.
  if (code == 10020) return flow == Flow::renew_refresh_token ? OutcomeKind::needs_reauth : OutcomeKind::rate_limited;
  static const std::vector<platform_util::CodeKinds> kCodes = {
      // 28001014..28001021: the app is banned or offline, lacks or is blocked from a capability, or is a
      // test app the user is not bound to or that expired: an admin must act at Douyin, retrying cannot help.
      {OutcomeKind::app_misconfigured,
       {10002, 10003, 10004, 10005, 10006, 10011, 10012, 10013, 10015, 10017, 2100005, 28001014, 28001016, 28001018,
        28001019, 28001020, 28001021}},
      // 10007: this code is dead, a new authorization gives a new one. 28001045..47: the user's account is
      // deactivated, banned or private: only the user can change that.
      {OutcomeKind::needs_reauth, {10007, 10014, 10010, 28001045, 28001046, 28001047}},
      {OutcomeKind::rate_limited, {2190001, 28003017, 28003018}},
  };
  // 10008, 2190002, 2190008, 28001008 (access token invalid or expired: refresh now), 10001, 2100004,
  // 28001005 (system busy) and codes we do not know: try again soon.
  return platform_util::kind_of_code(code, kCodes, OutcomeKind::retry_later);
}

Outcome parse_response(const ClientResponse& r, Flow flow, TimePoint now, const std::vector<std::string>& secrets) {
  const std::string what = endpoint_name(flow);
  if (platform_util::status_decides(r.status)) return platform_util::http_failure(r, what, now);
  auto j = platform_util::parse_object(r.body);
  if (!j) return platform_util::http_failure(r, what, now);
  // The answer is wrapped in "data"; tolerate a flat one.
  const json& data = j->contains("data") && (*j)["data"].is_object() ? (*j)["data"] : *j;
  auto error_code = platform_util::int_member(data, "error_code");
  if (!error_code) error_code = platform_util::int_member(*j, "error_code");
  if (!error_code) error_code = platform_util::int_member(*j, "err_no");

  if (error_code && *error_code != 0) {
    std::string description = platform_util::safe_text(platform_util::string_member(data, "description"), secrets);
    if (description.empty())
      description = platform_util::safe_text(platform_util::string_member(*j, "err_tips"), secrets);
    std::string message = meaning(*error_code, flow);
    if (!description.empty()) message += " (Douyin: " + description + ")";
    std::optional<Seconds> retry_after;
    // The documented rate limit is 500 client_token calls in 5 minutes.
    if (*error_code == 10020 && flow == Flow::client_token) retry_after = Seconds(300);
    return Outcome::failure(kind_for_error_code(*error_code, flow), std::to_string(*error_code), std::move(message),
                            r.status, retry_after);
  }
  if (r.status < 200 || r.status >= 300) return platform_util::http_failure(r, what, now);

  TokenResult t;
  if (flow == Flow::renew_refresh_token) {
    std::string refresh_token = platform_util::string_member(data, "refresh_token");
    if (refresh_token.empty()) {
      return Outcome::failure(OutcomeKind::retry_later, "bad_response", what + " answered without a refresh token",
                              r.status);
    }
    t.refresh_token = std::move(refresh_token);
    // Renewal answers carry the new refresh token's lifetime in expires_in.
    t.refresh_expires_in = platform_util::seconds_member(data, "expires_in").value_or(Seconds(kRefreshTokenLifetime));
  } else {
    t.access_token = platform_util::string_member(data, "access_token");
    if (t.access_token.empty()) {
      return Outcome::failure(OutcomeKind::retry_later, "bad_response", what + " answered without an access token",
                              r.status);
    }
    t.expires_in = platform_util::seconds_member(data, "expires_in");
    std::string refresh_token = platform_util::string_member(data, "refresh_token");
    if (!refresh_token.empty()) t.refresh_token = std::move(refresh_token);
    t.refresh_expires_in = platform_util::seconds_member(data, "refresh_expires_in");
    t.account_id = platform_util::id_member(data, "open_id");
    t.scopes = util::split(platform_util::string_member(data, "scope"), ", ");
  }
  return platform_util::checked_success(std::move(t), r.status, what);
}

int renewals_of(const Grant& grant) {
  auto n = platform_util::int_member(grant.extra, "renewals");
  if (!n || *n < 0) return 0;
  return *n > 1000 ? 1000 : static_cast<int>(*n);
}

RefreshTokenState refresh_token_state(const Grant& grant) {
  RefreshTokenState rt;
  rt.expires_at = grant.refresh_expires_at;
  rt.renewals = renewals_of(grant);
  if (auto l = platform_util::int_member(grant.extra, "refresh_lifetime"); l && *l > 0) rt.lifetime = Seconds(*l);
  auto ex = grant.extra.find("renewals_exhausted");
  rt.exhausted = ex != grant.extra.end() && ex->is_boolean() && ex->get<bool>();
  return rt;
}

Seconds renew_lead(const Options& options, Seconds lifetime) { return std::min(options.renew_before, lifetime / 2); }

Seconds last_refresh_lead(Seconds lifetime) {
  return std::max(Seconds(1), std::min(Seconds(kLastRefreshLead), lifetime / 10));
}

bool may_renew(const RefreshTokenState& rt, const Options& options, bool app_may_renew) {
  return app_may_renew && !rt.exhausted && rt.renewals < options.max_renewals;
}

RefreshAction plan_refresh(const RefreshTokenState& rt, const Options& options, bool app_may_renew, TimePoint now) {
  if (!rt.expires_at) return RefreshAction::refresh;
  if (now >= *rt.expires_at) return RefreshAction::expired;
  if (may_renew(rt, options, app_may_renew) && now >= *rt.expires_at - renew_lead(options, rt.lifetime)) {
    return RefreshAction::refresh_and_renew;
  }
  return RefreshAction::refresh;
}

FollowUp follow_up(const RefreshTokenState& rt, const Options& options, bool app_may_renew, TimePoint now) {
  FollowUp f;
  if (!rt.expires_at) return f;
  const TimePoint end = *rt.expires_at;
  const TimePoint last = end - last_refresh_lead(rt.lifetime);
  // Until the last refresh, that one; after it, the end itself (refresh() then says expired).
  f.call_again_by = last > now ? last : end;
  if (may_renew(rt, options, app_may_renew)) {
    TimePoint renew_at = end - renew_lead(options, rt.lifetime);
    if (renew_at <= now) {
      // Due already, so the renewal just failed: try again after a while, more often near the end.
      const auto left = std::chrono::duration_cast<Seconds>(end - now);
      renew_at = now + std::clamp(left / 8, Seconds(1), Seconds(3600));
    }
    f.call_again_by = std::min(*f.call_again_by, renew_at);
  } else {
    f.reauth_due_at = end;
  }
  return f;
}

}  // namespace douyin

namespace {

std::string base_url_from(const PlatformSettings& settings) {
  return platform_util::configured_url(settings, "douyin", "base_url", douyin::kDefaultBaseUrl);
}

Outcome bad_options(const std::string& error) {
  return Outcome::failure(OutcomeKind::app_misconfigured, "bad_options", error);
}

}  // namespace

DouyinPlatform::DouyinPlatform(HttpClient& http, PlatformSettings settings)
    : http_(http), settings_(std::move(settings)), base_url_(base_url_from(settings_)) {}

AppCheck DouyinPlatform::prepare_app(App& app) {
  if (app.client_id.empty()) return AppCheck::fail("client_id: Douyin's client_key is required");
  if (app.client_secret.empty()) return AppCheck::fail("client_secret: Douyin's client_secret is required");
  if (!app.issuer.empty()) return AppCheck::fail("issuer: not used by douyin");
  if (!app.endpoints.authorize_url.empty() || !app.endpoints.token_url.empty() ||
      !app.endpoints.revocation_url.empty()) {
    return AppCheck::fail("endpoints: not used by douyin; set base_url in [platforms.douyin] of the config");
  }
  if (app.token_auth_method != "client_secret_post") {
    return AppCheck::fail("token_auth_method: douyin sends the secret in the body (client_secret_post) only");
  }
  for (const auto& s : app.scopes) {
    if (s.find(',') != std::string::npos) return AppCheck::fail("scopes: a Douyin scope may not contain ','");
  }
  if (app.scopes.empty() && !app.client_credentials) {
    return AppCheck::fail("scopes: Douyin needs at least one scope to authorize an account (e.g. user_info)");
  }
  douyin::Options o;
  if (auto e = douyin::parse_options(app.options, o)) return AppCheck::fail(*e);
  if (app.options.is_null()) app.options = nlohmann::json::object();
  return {};
}

std::string DouyinPlatform::base_url_for(const douyin::Options& options) const {
  return options.base_url.empty() ? base_url_ : options.base_url;
}

std::string DouyinPlatform::authorize_url(const App& app, const AuthorizeParams& p) const {
  douyin::Options options;
  douyin::parse_options(app.options, options);  // checked at registration; defaults if not
  return douyin::build_authorize_url(base_url_for(options), app, p, options);
}

Outcome DouyinPlatform::call(const ClientRequest& req, douyin::Flow flow, const std::vector<std::string>& secrets) {
  ClientResponse r = http_.send(req);
  return douyin::parse_response(r, flow, SysClock::now(), secrets);
}

Outcome DouyinPlatform::exchange_code(const App& app, const std::string& code, const std::string& /*code_verifier*/,
                                      const std::string& /*redirect_uri*/) {
  douyin::Options options;
  if (auto e = douyin::parse_options(app.options, options)) return bad_options(*e);
  Outcome o = call(douyin::build_code_request(base_url_for(options), app, code), douyin::Flow::authorization_code,
                   {app.client_secret, code});
  if (!o.ok()) return o;
  const TimePoint now = SysClock::now();
  if (o.token.refresh_token && !o.token.refresh_expires_in)
    o.token.refresh_expires_in = Seconds(douyin::kRefreshTokenLifetime);
  // A new authorization starts a new chain of renewals.
  o.token.extra["renewals"] = 0;
  o.token.extra["renewals_exhausted"] = false;
  if (o.token.refresh_expires_in) {
    o.token.extra["refresh_lifetime"] = o.token.refresh_expires_in->count();
    douyin::RefreshTokenState rt;
    rt.expires_at = now + *o.token.refresh_expires_in;
    rt.lifetime = *o.token.refresh_expires_in;
    auto next = douyin::follow_up(rt, options, !app.renew_not_permitted_at.has_value(), now);
    o.token.call_again_by = next.call_again_by;
    o.token.reauth_due = next.reauth_due_at.has_value();
  }
  return o;
}

// Douyin's refresh token lives 30 days and refreshing the access token does not extend it; only
// oauth/renew_refresh_token/ does, 30 days from the renewal, at most 5 times, and the old refresh
// token dies at once. So:
//  1. a refresh token past its end: needs_reauth, without a call Douyin would refuse (10010);
//  2. refresh the access token with the stored refresh token;
//  3. when the renewal is due (renew_lead before the end), renew and hand the new refresh token
//     back in the TokenResult: the old one is dead from the moment Douyin answers, so the new one
//     must reach the store with this success;
//  4. say when to call again (the renewal, the last refresh, the end) and the reauth date.
// The renewal comes after the refresh so that a failed refresh can never strand a renewed refresh
// token (a failure Outcome stores nothing); a failed renewal never throws the refreshed access
// token away: it is a warning on a success, retried by call_again_by. 10004 on renewal means the
// app lacks the permission: the app is flagged and its grants refresh to their refresh token's end.
Outcome DouyinPlatform::refresh(const App& app, const Grant& grant) {
  if (grant.refresh_token.empty()) {
    return Outcome::failure(OutcomeKind::needs_reauth, "no_refresh_token",
                            "the grant has no refresh token; connect the account again");
  }
  douyin::Options options;
  if (auto e = douyin::parse_options(app.options, options)) return bad_options(*e);
  const std::string base = base_url_for(options);
  const TimePoint now = SysClock::now();
  bool app_may_renew = !app.renew_not_permitted_at.has_value();
  douyin::RefreshTokenState rt = douyin::refresh_token_state(grant);
  const auto action = douyin::plan_refresh(rt, options, app_may_renew, now);
  if (action == douyin::RefreshAction::expired) {
    return Outcome::failure(OutcomeKind::needs_reauth, "refresh_token_expired",
                            "the refresh token expired at " + format_time(*rt.expires_at) + " (" +
                                std::to_string(rt.renewals) + " renewals made): connect the account again");
  }

  Outcome o = call(douyin::build_refresh_request(base, app, grant.refresh_token), douyin::Flow::refresh_token,
                   {grant.refresh_token, app.client_secret});
  if (!o.ok()) return o;
  TokenResult& t = o.token;
  // Whether Douyin answers with the same refresh token string is not documented: keep the stored one
  // unless a different one comes back. Either way its expiry does not move.
  std::optional<Seconds> left;
  if (grant.refresh_expires_at) left = std::chrono::duration_cast<Seconds>(*grant.refresh_expires_at - now);
  if (t.refresh_token && *t.refresh_token != grant.refresh_token) {
    if (left && left->count() > 0) t.refresh_expires_in = left;
  } else {
    t.refresh_token.reset();
    t.refresh_expires_in.reset();
  }

  if (action == douyin::RefreshAction::refresh_and_renew) {
    const std::string current = t.refresh_token.value_or(grant.refresh_token);
    Outcome renewed = call(douyin::build_renew_request(base, app, current), douyin::Flow::renew_refresh_token,
                           {current, app.client_secret, t.access_token});
    if (renewed.ok() && renewed.token.refresh_token) {
      // The old refresh token is dead now: the new one leaves with this success so that it is stored.
      t.refresh_token = renewed.token.refresh_token;
      t.refresh_expires_in = renewed.token.refresh_expires_in.value_or(Seconds(douyin::kRefreshTokenLifetime));
      t.extra["renewals"] = rt.renewals + 1;
      t.extra["refresh_lifetime"] = t.refresh_expires_in->count();
      rt.renewals += 1;
      rt.expires_at = now + *t.refresh_expires_in;
      rt.lifetime = *t.refresh_expires_in;
    } else {
      if (renewed.code == "10004") {
        // The app lacks Douyin's renew_refresh_token permission: a fact about the app, not this grant.
        t.renew_not_permitted = true;
        app_may_renew = false;
      } else if (renewed.code == "10020") {
        // Douyin allows this authorization no more renewals, whatever max_renewals says.
        t.extra["renewals_exhausted"] = true;
        rt.exhausted = true;
      }
      t.warning_code = renewed.code;
      t.warning_message = "renewing the refresh token failed: " + renewed.message;
    }
  }
  auto next = douyin::follow_up(rt, options, app_may_renew, now);
  t.call_again_by = next.call_again_by;
  t.reauth_due = next.reauth_due_at.has_value();
  return o;
}

Outcome DouyinPlatform::client_token(const App& app, const AppTokenCall& /*call*/) {
  douyin::Options options;
  if (auto e = douyin::parse_options(app.options, options)) return bad_options(*e);
  Outcome o = call(douyin::build_client_token_request(base_url_for(options), app, options.stable_client_token),
                   douyin::Flow::client_token, {app.client_secret});
  // stable_client_token answers with the same token until it expires (a new one only after): the
  // refresher then waits for its end instead of asking again and again in its last seconds.
  if (o.ok()) o.token.same_until_expiry = options.stable_client_token;
  return o;
}

Outcome DouyinPlatform::revoke(const App& /*app*/, const Grant& /*grant*/) {
  Outcome o = Outcome::success({});
  o.code = "not_supported";
  o.message = "Douyin has no revocation endpoint; the user can revoke the authorization in the Douyin app";
  return o;
}

}  // namespace mediax
