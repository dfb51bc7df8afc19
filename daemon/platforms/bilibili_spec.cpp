// Bilibili (B站开放平台): OAuth 2.0 in Bilibili's dialect (platforms-next.md §2).
//
// - The authorization pages on account.bilibili.com (PC, or H5 for a phone) take client_id,
//   `gourl` (not redirect_uri) and state: no response_type, no scope (the scopes are the ones the
//   console approved for the app), no PKCE. The deprecated passport page is not offered.
// - The token calls are POSTs with their parameters, the secret too, in the URL query and an empty
//   body (the current doc); option token_params_in=form sends a form body instead (reported working).
// - Answers are wrapped, {"code": 0, "message": "0", "ttl": 1, "data": {...}}; a non-zero code is an
//   error (HTTP status unverified); `expires_in` is the access token's end in Unix seconds, kept in
//   the grant's extra as access_expires_at; scopes an array; no openid in the answer.
// - Each refresh token is single use; its lifetime is not documented (option
//   refresh_token_lifetime_seconds). The doc says to refresh before the access token ends: a
//   refresh after that end that Bilibili refuses with a code otherwise retried means the account
//   must be connected again (hook below, option late_refresh_failure_is_reauth).
// - No revocation call and no app token (API calls are signed with the app secret instead).
#include <algorithm>
#include <array>

#include "platforms/platform_util.hpp"
#include "platforms/spec_platform.hpp"
#include "platforms/specs.hpp"
#include "util/time_format.hpp"

namespace mediax::specs {

namespace {

using namespace spec;

constexpr const char* kAccessExpiresAt = "access_expires_at";

// Bilibili's "system busy": Bilibili did not look at the refresh token, so even a late refresh
// refused with it is tried again.
constexpr std::array<std::int64_t, 1> kBusy = {127201};

class BilibiliHooks final : public SpecHooks {
 public:
  std::optional<std::string> param(std::string_view name, const App& app) const override {
    if (name != "navhide") return std::nullopt;
    bool hide = false;
    platform_util::bool_option(app.options, "h5_navhide", hide);  // checked at registration
    return std::string(hide ? "1" : "0");
  }
  Outcome refresh(SpecPlatform& p, const App& app, const Grant& grant) const override;
};

const BilibiliHooks kHooks;

const std::vector<Param> kClient = {{"client_id", Value::client_id}, {"client_secret", Value::client_secret}};

std::vector<Param> with_client(std::vector<Param> more) {
  std::vector<Param> all = kClient;
  all.insert(all.end(), more.begin(), more.end());
  return all;
}

const Spec kBilibili{
    .name = "bilibili",
    .display = "Bilibili",
    .base_urls = {{.key = "base_url",
                   .fallback = "https://account.bilibili.com",
                   .about = "Bilibili authorization pages"},
                  {.key = "api_base_url", .fallback = "https://api.bilibili.com", .about = "Bilibili token API"}},
    .authorize =
        {
            .page_option = "authorize_page",
            .pages =
                {{.when = "pc",
                  .path = "/pc/account-pc/auth/oauth",
                  .params = {{"client_id", Value::client_id}, {"gourl", Value::redirect_uri}, {"state", Value::state}}},
                 // callback=skip sends the browser on to gourl, which the daemon's callback needs.
                 {.when = "h5",
                  .path = "/h5/account-h5/auth/oauth",
                  .params = {{"navhide", Value::hook},
                             {"callback", Value::option, "h5_callback", "skip"},
                             {"gourl", Value::redirect_uri},
                             {"client_id", Value::client_id},
                             {"state", Value::state}}}},
            .mobile_page = "h5",
        },
    .scope_separator = ",",
    .scopes_required = false,
    .exchange_code =
        Request{.what = "Bilibili's account-oauth2/v1/token",
                .base = "api_base_url",
                .path = "/x/account-oauth2/v1/token",
                .encoding = Encoding::query,
                .params = with_client({{"grant_type", Value::text, "authorization_code"}, {"code", Value::code}}),
                .encoding_option = "token_params_in"},
    .refresh = Request{.what = "Bilibili's account-oauth2/v1/refresh_token",
                       .base = "api_base_url",
                       .path = "/x/account-oauth2/v1/refresh_token",
                       .encoding = Encoding::query,
                       .params = with_client(
                           {{"grant_type", Value::text, "refresh_token"}, {"refresh_token", Value::refresh_token}}),
                       .encoding_option = "token_params_in"},
    .answer =
        {
            .data = {"data"},
            .code = {"code"},
            .ok_code = 0,
            .text = {"message"},
            .expiry = Expiry::absolute_or_relative,
            .expires_at_extra = kAccessExpiresAt,
            .scopes = "scopes",
        },
    // The official status-code table (OAuth2 and general sections). 127001 (access token not
    // verified: refresh now), 127200 (business exception), 127201 (system busy) and codes not
    // listed (127022 upload_token among them): try again.
    .errors =
        {
            {.code = 122000, .kind = OutcomeKind::app_misconfigured, .meaning = "client_id is wrong"},
            {.code = 122001, .kind = OutcomeKind::app_misconfigured, .meaning = "client_secret is wrong"},
            {.code = 122002,
             .kind = OutcomeKind::needs_reauth,
             .meaning = "the authorization code does not exist (used, expired or wrong): connect the account again"},
            {.code = 122007,
             .kind = OutcomeKind::needs_reauth,
             .meaning = "the refresh token is invalid (each is single use): connect the account again"},
            {.code = 127000,
             .kind = OutcomeKind::app_misconfigured,
             .meaning = "authentication parameters are missing"},
            {.code = 127001, .kind = OutcomeKind::retry_later, .meaning = "the access token was not verified"},
            {.code = 127004, .kind = OutcomeKind::app_misconfigured, .meaning = "client_id verification error"},
            {.code = 127005,
             .kind = OutcomeKind::app_misconfigured,
             .meaning = "the organisation's certification has not passed"},
            {.code = 127006,
             .kind = OutcomeKind::app_misconfigured,
             .meaning = "the application's certification has not passed"},
            {.code = 127007,
             .kind = OutcomeKind::app_misconfigured,
             .meaning = "the app has no permission for this API"},
            {.code = 127009, .kind = OutcomeKind::rate_limited, .meaning = "the API call limit is reached"},
            {.code = 127011,
             .kind = OutcomeKind::needs_reauth,
             .meaning = "the user has not authorized this API (scope): connect the account again"},
            {.code = 127012, .kind = OutcomeKind::app_misconfigured, .meaning = "authentication (signature) error"},
            {.code = 127200,
             .kind = OutcomeKind::retry_later,
             .meaning = "business exception (contact Bilibili if it persists)"},
            {.code = 127201, .kind = OutcomeKind::retry_later, .meaning = "Bilibili is busy"},
        },
    .lifetimes = {.refresh_token_option = "refresh_token_lifetime_seconds", .rotation = Rotation::rotates},
    // Bilibili's OpenAPI takes the token in an access-token header (beside its signature).
    .token_usage = TokenUsage::access_token_header,
    .options =
        {
            {.name = "authorize_page",
             .type = OptionType::choice,
             .about = "pc: the PC authorization page; h5: the mobile (H5) page",
             .choices = {"pc", "h5"}},
            {.name = "h5_navhide", .type = OptionType::boolean, .about = "the H5 page's navhide=1 (default false)"},
            {.name = "h5_callback",
             .type = OptionType::choice,
             .about = "the H5 page's callback: skip (on to the daemon's callback), close or browser",
             .choices = {"skip", "close", "browser"}},
            {.name = "token_params_in",
             .type = OptionType::choice,
             .about = "where the token calls' parameters go: the URL query (the doc) or a form body",
             .choices = {"query", "form"}},
            {.name = "refresh_token_lifetime_seconds",
             .type = OptionType::integer,
             .about = "each new refresh token's lifetime (Bilibili documents none)",
             .min = 1,
             .max = 10LL * 366 * 24 * 3600},
            {.name = "late_refresh_failure_is_reauth",
             .type = OptionType::boolean,
             .about = "a refresh after the access token's end that Bilibili refuses needs the account connected "
                      "again (default true)"},
        },
    .no_revoke =
        "Bilibili has no revocation call; the user ends the authorization at Bilibili (a deauthorize "
        "webhook tells the app)",
    .hooks = &kHooks,
};

// A code of Bilibili's answer (digits), not one the daemon made for an HTTP failure ("http_500",
// "transport_timeout", "bad_response").
std::optional<std::int64_t> platform_code(const std::string& code) {
  if (code.empty() || !std::all_of(code.begin(), code.end(), [](char c) { return c >= '0' && c <= '9'; }))
    return std::nullopt;
  try {
    return std::stoll(code);
  } catch (const std::exception&) {
    return std::nullopt;
  }
}

Outcome BilibiliHooks::refresh(SpecPlatform& p, const App& app, const Grant& grant) const {
  Outcome o = p.plain_refresh(app, grant);
  if (o.ok() || o.kind != OutcomeKind::retry_later) return o;
  bool late_is_reauth = true;
  platform_util::bool_option(app.options, "late_refresh_failure_is_reauth", late_is_reauth);
  if (!late_is_reauth) return o;
  const auto code = platform_code(o.code);
  if (!code || std::find(kBusy.begin(), kBusy.end(), *code) != kBusy.end()) return o;
  // The doc: refresh before the access token ends; after that end, a new token needs the user.
  const auto end = platform_util::int_member(grant.extra, kAccessExpiresAt);
  if (!end) return o;
  const TimePoint access_end{Seconds(*end)};
  if (SysClock::now() < access_end) return o;
  o.kind = OutcomeKind::needs_reauth;
  o.retry_after.reset();
  o.message = "refreshed after the access token ended (" + format_time(access_end) +
              "), which Bilibili asks to avoid, and refused: connect the account again; " + o.message;
  return o;
}

}  // namespace

const Spec& bilibili() { return kBilibili; }

}  // namespace mediax::specs
