// Weibo (微博开放平台): OAuth 2.0 on api.weibo.com/oauth2 (the mobile authorization page on
// open.weibo.cn), form token calls, flat answers served as text/plain with numbers often strings,
// errors {"error", "error_code", "error_description"} with real 4xx statuses (error_code is the
// code: it tells 21322 from 21325, and the API errors carry it too, sometimes as a string).
// - The token answer's uid is no proof of identity: the code exchange is followed by
//   get_token_info, whose appkey must be the app's AppKey and whose uid is the account.
// - Only apps on Weibo's official mobile SDK get refresh tokens (option mobile_sdk_app); a web
//   app's grant ends with its access token (1 day to 5 years by the app's level): the account is
//   connected again by then, nothing is refreshed.
// - Revocation takes the access token (oauth2/revokeoauth2); no app token exists.
// platforms-next.md §3.
#include "platforms/platform_util.hpp"
#include "platforms/spec_platform.hpp"
#include "platforms/specs.hpp"

namespace mediax::specs {

namespace {

using namespace spec;

class WeiboHooks final : public SpecHooks {
 public:
  Rotation rotation(const Spec& s, const App& app) const override;
  Outcome exchange_code(SpecPlatform& p, const App& app, const CallInputs& in) const override;
};

const WeiboHooks kHooks;

// The authorization page's parameters; display, forcelogin and language only when the app sets them.
const std::vector<Param> kAuthorizeParams = {{"client_id", Value::client_id},
                                             {"redirect_uri", Value::redirect_uri},
                                             {"response_type", Value::text, "code"},
                                             {"scope", Value::scopes},
                                             {"state", Value::state},
                                             {"display", Value::option, "display"},
                                             {"forcelogin", Value::option, "forcelogin"},
                                             {"language", Value::option, "language"}};

constexpr std::int64_t kDay = 24 * 3600;

const Spec kWeibo{
    .name = "weibo",
    .display = "Weibo",
    .base_urls = {{.key = "base_url", .fallback = "https://api.weibo.com", .about = "Weibo OAuth 2.0 API"},
                  {.key = "mobile_base_url",
                   .fallback = "https://open.weibo.cn",
                   .about = "Weibo's mobile authorization page (display=mobile)"}},
    // display=mobile has its own host; every other display (or none) the API's.
    .authorize = {.page_option = "display",
                  .pages = {{.path = "/oauth2/authorize", .params = kAuthorizeParams},
                            {.when = "mobile",
                             .base = "mobile_base_url",
                             .path = "/oauth2/authorize",
                             .params = kAuthorizeParams}}},
    .scope_separator = ",",
    .scopes_required = false,  // scope is optional on the authorization page
    // Form bodies: JustAuth puts the same parameters in the query of the POST, which would carry
    // the secret in a URL.
    .exchange_code = Request{.what = "Weibo's oauth2/access_token",
                             .path = "/oauth2/access_token",
                             .params = {{"client_id", Value::client_id},
                                        {"client_secret", Value::client_secret},
                                        {"grant_type", Value::text, "authorization_code"},
                                        {"code", Value::code},
                                        {"redirect_uri", Value::redirect_uri}}},
    // Mobile-SDK apps only (SpecHooks::rotation: the others never get here).
    .refresh = Request{.what = "Weibo's oauth2/access_token (refresh_token)",
                       .path = "/oauth2/access_token",
                       .params = {{"client_id", Value::client_id},
                                  {"client_secret", Value::client_secret},
                                  {"grant_type", Value::text, "refresh_token"},
                                  {"redirect_uri", Value::redirect_uri},
                                  {"refresh_token", Value::refresh_token}}},
    .revoke = Request{.what = "Weibo's oauth2/revokeoauth2",
                      .path = "/oauth2/revokeoauth2",
                      .method = "GET",
                      .encoding = Encoding::query,
                      .params = {{"access_token", Value::access_token}}},
    .answer =
        {
            .code = {"error_code"},
            .error_name = {"error"},
            // API errors put their words in "error" ("auth failed!"), OAuth errors in error_description.
            .text = {"error_description", "error"},
        },
    .errors =
        {
            // A token that is already dead needs no revoking.
            {.code = 21315,
             .kind = OutcomeKind::success,
             .meaning = "the token had already expired",
             .calls = only(Call::revoke)},
            {.code = 21316,
             .kind = OutcomeKind::success,
             .meaning = "the token was already revoked",
             .calls = only(Call::revoke)},
            {.code = 21319,
             .kind = OutcomeKind::success,
             .meaning = "the user had already revoked the authorization",
             .calls = only(Call::revoke)},
            {.code = 21327,
             .kind = OutcomeKind::success,
             .meaning = "the token had already expired",
             .calls = only(Call::revoke)},
            // OAuth2 errors (token and authorization endpoints).
            {.code = 21322,
             .kind = OutcomeKind::app_misconfigured,
             .meaning = "redirect_uri mismatch: it must equal the callback registered for the app (高级信息)"},
            {.code = 21323, .kind = OutcomeKind::app_misconfigured, .meaning = "illegal request"},
            {.code = 21324,
             .kind = OutcomeKind::app_misconfigured,
             .meaning = "invalid client: check client_id (AppKey) and client_secret (AppSecret)"},
            {.code = 21325,
             .kind = OutcomeKind::needs_reauth,
             .meaning = "the grant is invalid, expired or revoked (or the code was used): connect the account again"},
            {.code = 21326, .kind = OutcomeKind::app_misconfigured, .meaning = "the app has no permission for this"},
            {.code = 21327,
             .kind = OutcomeKind::needs_reauth,
             .meaning = "the token expired: connect the account again"},
            {.code = 21328, .kind = OutcomeKind::app_misconfigured, .meaning = "unsupported grant type"},
            {.code = 21329, .kind = OutcomeKind::app_misconfigured, .meaning = "unsupported response type"},
            {.code = 21330,
             .kind = OutcomeKind::needs_reauth,
             .meaning = "the user or Weibo refused the authorization: connect the account again"},
            {.code = 21331, .kind = OutcomeKind::retry_later, .meaning = "Weibo is temporarily unavailable"},
            {.code = 21337,
             .kind = OutcomeKind::app_misconfigured,
             .meaning = "the app's permissions are insufficient"},
            // API errors (get_token_info, revokeoauth2).
            {.code = 21301,
             .kind = OutcomeKind::needs_reauth,
             .meaning = "authentication failed: connect the account again"},
            {.code = 21314,
             .kind = OutcomeKind::needs_reauth,
             .meaning = "the token was used: connect the account again"},
            {.code = 21315,
             .kind = OutcomeKind::needs_reauth,
             .meaning = "the token expired: connect the account again"},
            {.code = 21316,
             .kind = OutcomeKind::needs_reauth,
             .meaning = "the token was revoked: connect the account again"},
            {.code = 21317,
             .kind = OutcomeKind::needs_reauth,
             .meaning = "the token was rejected: connect the account again"},
            {.code = 21319,
             .kind = OutcomeKind::needs_reauth,
             .meaning = "the user revoked the authorization: connect the account again"},
            {.code = 21320, .kind = OutcomeKind::app_misconfigured, .meaning = "OAuth2 must use HTTPS"},
            {.code = 21321,
             .kind = OutcomeKind::app_misconfigured,
             .meaning = "the unaudited app is over its user limit"},
            {.code = 21332,
             .kind = OutcomeKind::needs_reauth,
             .meaning = "invalid access token: connect the account again"},
            {.code = 10001, .kind = OutcomeKind::retry_later, .meaning = "Weibo system error"},
            {.code = 10002, .kind = OutcomeKind::retry_later, .meaning = "Weibo service paused"},
            {.code = 10003, .kind = OutcomeKind::retry_later, .meaning = "Weibo remote service error"},
            {.code = 10009, .kind = OutcomeKind::retry_later, .meaning = "Weibo is busy (too many pending tasks)"},
            {.code = 10011, .kind = OutcomeKind::retry_later, .meaning = "Weibo RPC error"},
            {.code = 10004,
             .kind = OutcomeKind::app_misconfigured,
             .meaning = "IP limit: the daemon's address is not allowed for the app"},
            {.code = 10005,
             .kind = OutcomeKind::app_misconfigured,
             .meaning = "the app lacks the permission (a higher-level AppKey is needed)"},
            {.code = 10014,
             .kind = OutcomeKind::app_misconfigured,
             .meaning = "the app lacks the permission (a higher-level AppKey is needed)"},
            {.code = 10006,
             .kind = OutcomeKind::app_misconfigured,
             .meaning = "the source (AppKey) parameter is missing"},
            {.code = 10022, .kind = OutcomeKind::rate_limited, .meaning = "requests from this IP over the rate limit"},
            {.code = 10023, .kind = OutcomeKind::rate_limited, .meaning = "the user's requests over the rate limit"},
            {.code = 10024,
             .kind = OutcomeKind::rate_limited,
             .meaning = "the user's requests for this API over the rate limit"},
        },
    // A mobile-SDK app's refresh token lives 30 days; whether a refresh hands out a new one is
    // unverified: one in the answer is stored (with its 30 days), none keeps the stored one.
    .lifetimes = {.refresh_token = 30 * kDay, .rotation = Rotation::rotates},
    // Weibo's API takes the token as the access_token parameter (or "Authorization: OAuth2 …", not Bearer).
    .token_usage = TokenUsage::access_token_query,
    .options =
        {
            {.name = "display",
             .type = OptionType::choice,
             .about = "the authorization page's display (mobile: the open.weibo.cn page); not sent when unset",
             .choices = {"default", "mobile", "wap", "client", "apponweibo"}},
            {.name = "forcelogin", .type = OptionType::boolean, .about = "ask the user to log in again (forcelogin)"},
            {.name = "language", .type = OptionType::text, .about = "the authorization page's language, e.g. en"},
            {.name = "mobile_sdk_app",
             .type = OptionType::boolean,
             .about = "the app is a mobile app on Weibo's official SDK: its grants get refresh tokens (default false: "
                      "a web app's grant ends with its access token)"},
        },
    .hooks = &kHooks,
};

// get_token_info: which app and user a token belongs to (an answer, not a token).
const Request kTokenInfo{.what = "Weibo's oauth2/get_token_info",
                         .path = "/oauth2/get_token_info",
                         .params = {{"access_token", Value::access_token}}};

bool mobile_sdk_app(const App& app) {
  if (!app.options.is_object()) return false;
  auto it = app.options.find("mobile_sdk_app");
  return it != app.options.end() && it->is_boolean() && it->get<bool>();
}

Rotation WeiboHooks::rotation(const Spec& s, const App& app) const {
  // "只有使用微博官方移动SDK的移动应用，才可以…获取到Refresh Token".
  return mobile_sdk_app(app) ? s.lifetimes.rotation : Rotation::none;
}

// The token answer's uid is not proof of whose token it is (platforms-next.md §3): get_token_info
// says which app the token was issued to (it must be this one, else the app's id and secret are
// another app's) and whose it is. Without that check there is no account: its failures are the
// exchange's.
Outcome WeiboHooks::exchange_code(SpecPlatform& p, const App& app, const CallInputs& in) const {
  Outcome o = p.run(Call::exchange_code, app, in);
  if (!o.ok()) return o;
  CallInputs info;
  info.access_token = o.token.access_token;
  nlohmann::json answer;
  Outcome checked = p.fetch_object(Call::exchange_code, kTokenInfo, p.build(Call::exchange_code, kTokenInfo, app, info),
                                   {app.client_secret, in.code, o.token.access_token}, answer);
  if (!checked.ok()) return checked;
  const std::string appkey = platform_util::id_member(answer, "appkey");
  if (appkey != app.client_id) {
    return Outcome::failure(OutcomeKind::app_misconfigured, "appkey_mismatch",
                            std::string(kTokenInfo.what) + " says the token was issued to AppKey " +
                                platform_util::clean_text(appkey) + ", not to this app's client_id " + app.client_id,
                            checked.http_status);
  }
  std::string uid = platform_util::id_member(answer, "uid");
  if (uid.empty()) {
    return Outcome::failure(OutcomeKind::retry_later, "bad_response",
                            std::string(kTokenInfo.what) + " answered without a uid", checked.http_status);
  }
  o.token.account_id = std::move(uid);
  return o;
}

}  // namespace

const Spec& weibo() { return kWeibo; }

}  // namespace mediax::specs
