// Douyin (抖音开放平台): OAuth 2.0 in Douyin's dialect (platforms.md, platforms-detail.md §1).
//
// - The client id is `client_key`; scopes are comma-separated; no PKCE.
// - Every answer is wrapped, {"data": {..., "error_code": N, "description": ...}, "message": ...},
//   errors come with HTTP 200 and numbers may be strings.
// - The refresh call takes no secret (a secret not sent cannot leak).
// - Hooks: the refresh token's renewal (platforms/douyin_renewal.hpp), the optionalScope list, the
//   stable_client_token endpoint.
#include "platforms/douyin_renewal.hpp"
#include "platforms/platform_util.hpp"
#include "platforms/spec_platform.hpp"
#include "platforms/specs.hpp"
#include "util/time_format.hpp"

namespace mediax::specs {

namespace {

using namespace spec;

class DouyinHooks final : public SpecHooks {
 public:
  std::optional<std::string> check_app(const App& app) const override {
    douyin::Options o;
    return douyin::parse_options(app.options, o);
  }
  std::optional<std::string> param(std::string_view name, const App& app) const override;
  Outcome exchange_code(SpecPlatform& p, const App& app, const CallInputs& in) const override;
  Outcome refresh(SpecPlatform& p, const App& app, const Grant& grant) const override;
  Outcome client_token(SpecPlatform& p, const App& app, const AppTokenCall& call) const override;
};

const DouyinHooks kHooks;

const Spec kDouyin{
    .name = "douyin",
    .display = "Douyin",
    .base_urls = {{.key = "base_url", .fallback = douyin::kDefaultBaseUrl, .about = "Douyin Open Platform base URL"}},
    .authorize =
        {
            .pages = {{
                .path = "/platform/oauth/connect/",
                .params = {{"client_key", Value::client_id},
                           {"response_type", Value::text, "code"},
                           {"scope", Value::scopes},
                           {"optionalScope", Value::hook},
                           {"redirect_uri", Value::redirect_uri},
                           {"state", Value::state}},
            }},
        },
    .scope_separator = ",",
    // Douyin's page stresses form encoding, not JSON, for the OAuth calls.
    .exchange_code =
        Request{
            .what = "Douyin's oauth/access_token",
            .path = "/oauth/access_token/",
            .params = {{"client_key", Value::client_id},
                       {"client_secret", Value::client_secret},
                       {"code", Value::code},
                       {"grant_type", Value::text, "authorization_code"}},
        },
    .refresh =
        Request{
            .what = "Douyin's oauth/refresh_token",
            .path = "/oauth/refresh_token/",
            .params = {{"client_key", Value::client_id},
                       {"grant_type", Value::text, "refresh_token"},
                       {"refresh_token", Value::refresh_token}},
        },
    .renew =
        Request{
            .what = "Douyin's oauth/renew_refresh_token",
            .path = "/oauth/renew_refresh_token/",
            .params = {{"client_key", Value::client_id}, {"refresh_token", Value::refresh_token}},
        },
    .client_token =
        Request{
            .what = "Douyin's oauth/client_token",
            .path = "/oauth/client_token/",
            .encoding = Encoding::json,
            .params = {{"client_key", Value::client_id},
                       {"client_secret", Value::client_secret},
                       {"grant_type", Value::text, "client_credential"}},
        },
    .answer =
        {
            .data = {"data"},
            .code = {"data.error_code", "error_code", "err_no"},
            .text = {"data.description", "err_tips"},
            .refresh_expires_in = "refresh_expires_in",
            .account_id = "open_id",
            .scopes = "scope",
        },
    // 10008, 2190002, 2190008, 28001008 (access token invalid or expired: refresh now), 10001, 2100004,
    // 28001005 (system busy) and codes not listed: try again soon. 28001014..28001021: the app is
    // banned or offline, lacks or is blocked from a capability, or is a test app the user is not bound
    // to or that expired: an admin must act at Douyin. 28001045..47: only the user can change that.
    .errors =
        {
            {.code = 10001, .kind = OutcomeKind::retry_later, .meaning = "Douyin system error"},
            {.code = 10002, .kind = OutcomeKind::app_misconfigured, .meaning = "parameter error"},
            {.code = 10003,
             .kind = OutcomeKind::app_misconfigured,
             .meaning = "client_key does not exist or its configuration is invalid"},
            {.code = 10004,
             .kind = OutcomeKind::app_misconfigured,
             .meaning = "no permission: the app needs Douyin's renew_refresh_token permission (or set "
                        "options.max_renewals to 0)",
             .calls = only(Call::renew)},
            {.code = 10004, .kind = OutcomeKind::app_misconfigured, .meaning = "no permission for this call"},
            {.code = 10005, .kind = OutcomeKind::app_misconfigured, .meaning = "a parameter is missing"},
            {.code = 10006,
             .kind = OutcomeKind::app_misconfigured,
             .meaning = "illegal redirect URI: register the daemon's callback URL at Douyin"},
            {.code = 10007,
             .kind = OutcomeKind::needs_reauth,
             .meaning = "the authorization code expired or was used: connect the account again"},
            {.code = 10008, .kind = OutcomeKind::retry_later, .meaning = "the access token is invalid or expired"},
            {.code = 10010,
             .kind = OutcomeKind::needs_reauth,
             .meaning = "the refresh token has expired: connect the account again"},
            {.code = 10011,
             .kind = OutcomeKind::app_misconfigured,
             .meaning = "the app's package name does not match its configuration"},
            {.code = 10012, .kind = OutcomeKind::app_misconfigured, .meaning = "the app is under review"},
            {.code = 10013, .kind = OutcomeKind::app_misconfigured, .meaning = "client_key or client_secret is wrong"},
            {.code = 10014,
             .kind = OutcomeKind::needs_reauth,
             .meaning = "the authorization code was issued to another client_key"},
            {.code = 10015, .kind = OutcomeKind::app_misconfigured, .meaning = "wrong app type"},
            {.code = 10017,
             .kind = OutcomeKind::app_misconfigured,
             .meaning = "the app signature does not match its configuration"},
            {.code = 10020,
             .kind = OutcomeKind::needs_reauth,
             .meaning = "the refresh token was renewed as often as Douyin allows: connect the account again",
             .calls = only(Call::renew)},
            // The documented rate limit is 500 client_token calls in 5 minutes.
            {.code = 10020,
             .kind = OutcomeKind::rate_limited,
             .meaning = "too many calls",
             .calls = only(Call::client_token),
             .retry_after_seconds = 300},
            {.code = 10020, .kind = OutcomeKind::rate_limited, .meaning = "too many calls"},
            {.code = 2100004, .kind = OutcomeKind::retry_later, .meaning = "Douyin is busy"},
            {.code = 2100005, .kind = OutcomeKind::app_misconfigured, .meaning = "parameter error"},
            {.code = 2190001, .kind = OutcomeKind::rate_limited, .meaning = "quota used up"},
            {.code = 2190002, .kind = OutcomeKind::retry_later, .meaning = "the access token is invalid"},
            {.code = 2190008, .kind = OutcomeKind::retry_later, .meaning = "the access token expired"},
            {.code = 28001005, .kind = OutcomeKind::retry_later, .meaning = "Douyin is busy"},
            {.code = 28001008, .kind = OutcomeKind::retry_later, .meaning = "the access token expired"},
            {.code = 28001014,
             .kind = OutcomeKind::app_misconfigured,
             .meaning = "the app lacks the capability this call needs"},
            {.code = 28001016,
             .kind = OutcomeKind::app_misconfigured,
             .meaning = "the app is banned or offline at Douyin"},
            {.code = 28001018,
             .kind = OutcomeKind::app_misconfigured,
             .meaning = "the app's capability is blocked or not granted"},
            {.code = 28001019,
             .kind = OutcomeKind::app_misconfigured,
             .meaning = "the app's capability is blocked or not granted"},
            {.code = 28001020,
             .kind = OutcomeKind::app_misconfigured,
             .meaning = "the user is not bound to this test app"},
            {.code = 28001021, .kind = OutcomeKind::app_misconfigured, .meaning = "the test app has expired"},
            {.code = 28001045,
             .kind = OutcomeKind::needs_reauth,
             .meaning = "the user's account is deactivated: connect the account again"},
            {.code = 28001046,
             .kind = OutcomeKind::needs_reauth,
             .meaning = "the user's account is banned: connect the account again"},
            {.code = 28001047,
             .kind = OutcomeKind::needs_reauth,
             .meaning = "the user's account is private: connect the account again"},
            {.code = 28003017, .kind = OutcomeKind::rate_limited, .meaning = "quota used up"},
            {.code = 28003018, .kind = OutcomeKind::rate_limited, .meaning = "calls too frequent"},
        },
    .lifetimes = {.refresh_token = douyin::kRefreshTokenLifetime, .rotation = Rotation::reused},
    // "调用 OpenAPI 时在 header 中传入 access-token": not Authorization, and no token_type.
    .token_usage = TokenUsage::access_token_header,
    .options =
        {
            {.name = "renew_before_seconds",
             .type = OptionType::integer,
             .about = "renew the refresh token once this much of it is left (at most half its lifetime)",
             .min = 60,
             .max = douyin::kRefreshTokenLifetime},
            {.name = "renew_window_seconds",
             .type = OptionType::integer,
             .about = "the old name of renew_before_seconds",
             .min = 60,
             .max = douyin::kRefreshTokenLifetime},
            {.name = "max_renewals",
             .type = OptionType::integer,
             .about = "renewals Douyin allows (documented: 5; 0: never renew)",
             .min = 0,
             .max = 100},
            {.name = "client_token",
             .type = OptionType::choice,
             .about = "the endpoint of the app's own token",
             .choices = {"client_token", "stable_client_token"}},
            {.name = "optional_scopes",
             .type = OptionType::object,
             .about = "{\"scope\": true|false}: scopes the creator may untick (true: ticked at first)"},
            {.name = "base_url",
             .type = OptionType::url,
             .about = "this app's Douyin host, e.g. https://open-sandbox.douyin.com"},
        },
    .no_revoke = "Douyin has no revocation endpoint; the user can revoke the authorization in the Douyin app",
    .hooks = &kHooks,
};

douyin::Options options_of(const App& app) {
  douyin::Options o;
  douyin::parse_options(app.options, o);  // checked at registration; defaults if not
  return o;
}

std::optional<std::string> DouyinHooks::param(std::string_view name, const App& app) const {
  if (name != "optionalScope") return std::nullopt;
  const douyin::Options o = options_of(app);
  if (o.optional_scopes.empty()) return std::nullopt;
  // optionalScope=scope,1,scope2,0: the user may untick these; 1 = ticked at first.
  std::vector<std::string> pairs;
  for (const auto& [scope, ticked] : o.optional_scopes) {
    pairs.push_back(scope);
    pairs.push_back(ticked ? "1" : "0");
  }
  return platform_util::join(pairs, ",");
}

Outcome DouyinHooks::exchange_code(SpecPlatform& p, const App& app, const CallInputs& in) const {
  Outcome o = p.run(Call::exchange_code, app, in);
  if (!o.ok()) return o;
  const TimePoint now = SysClock::now();
  // A new authorization starts a new chain of renewals.
  o.token.extra["renewals"] = 0;
  o.token.extra["renewals_exhausted"] = false;
  if (o.token.refresh_expires_in) {
    o.token.extra["refresh_lifetime"] = o.token.refresh_expires_in->count();
    douyin::RefreshTokenState rt;
    rt.expires_at = now + *o.token.refresh_expires_in;
    rt.lifetime = *o.token.refresh_expires_in;
    auto next = douyin::follow_up(rt, options_of(app), !app.renew_not_permitted_at.has_value(), now);
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
Outcome DouyinHooks::refresh(SpecPlatform& p, const App& app, const Grant& grant) const {
  if (grant.refresh_token.empty()) return p.plain_refresh(app, grant);  // needs_reauth: no refresh token
  const douyin::Options options = options_of(app);
  const TimePoint now = SysClock::now();
  bool app_may_renew = !app.renew_not_permitted_at.has_value();
  douyin::RefreshTokenState rt = douyin::refresh_token_state(grant);
  const auto action = douyin::plan_refresh(rt, options, app_may_renew, now);
  if (action == douyin::RefreshAction::expired) {
    return Outcome::failure(OutcomeKind::needs_reauth, "refresh_token_expired",
                            "the refresh token expired at " + format_time(*rt.expires_at) + " (" +
                                std::to_string(rt.renewals) + " renewals made): connect the account again");
  }
  Outcome o = p.plain_refresh(app, grant);
  if (!o.ok()) return o;
  TokenResult& t = o.token;
  if (action == douyin::RefreshAction::refresh_and_renew) {
    CallInputs in;
    in.refresh_token = t.refresh_token.value_or(grant.refresh_token);
    in.access_token = t.access_token;
    Outcome renewed = p.run(Call::renew, app, in);
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

// The reason changes nothing: each client_token call issues a new token; stable_client_token
// answers with the same token until it expires (a new one only after), so the refresher waits for
// its end instead of asking again and again in its last seconds (token.same_until_expiry).
Outcome DouyinHooks::client_token(SpecPlatform& p, const App& app, const AppTokenCall& /*call*/) const {
  const bool stable = options_of(app).stable_client_token;
  if (!stable) return p.run(Call::client_token, app, {});
  Request req = *kDouyin.client_token;
  req.what = "Douyin's oauth/stable_client_token";
  req.path = "/oauth/stable_client_token/";
  Outcome o = p.send(Call::client_token, req, p.build(Call::client_token, req, app, {}), {app.client_secret});
  if (o.ok()) o.token.same_until_expiry = true;
  return o;
}

}  // namespace

const Spec& douyin() { return kDouyin; }

}  // namespace mediax::specs
