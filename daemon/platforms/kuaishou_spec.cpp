// Kuaishou (快手开放平台): OAuth 2.0 with GET token calls carrying everything, the secret included,
// in the query; answers flat with "result": 1 on success and {"result": N, "error_msg"} (HTTP 200)
// on failure; scopes an array. Each refresh hands out a new refresh token and kills the old one,
// and the new one dies when the first would have (180 days in the documented example): the account
// is connected again then. The app token (client_credentials) is documented for mini-programs only.
// platforms-next.md §1.
#include "platforms/specs.hpp"

namespace mediax::specs {

namespace {

using namespace spec;

const Spec kKuaishou{
    .name = "kuaishou",
    .display = "Kuaishou",
    .base_urls = {{.key = "base_url", .fallback = "https://open.kuaishou.com", .about = "Kuaishou Open Platform"}},
    // The web page (a logged-in browser, or Kuaishou's login first) or the QR scan page.
    .authorize =
        {
            .page_option = "authorize_page",
            .pages = {{.when = "web",
                       .path = "/oauth2/authorize",
                       .params = {{"app_id", Value::client_id},
                                  {"scope", Value::scopes},
                                  {"response_type", Value::text, "code"},
                                  {"ua", Value::option, "ua", "pc"},
                                  {"redirect_uri", Value::redirect_uri},
                                  {"state", Value::state}}},
                      {.when = "qr",
                       .path = "/oauth2/connect",
                       .params = {{"app_id", Value::client_id},
                                  {"scope", Value::scopes},
                                  {"response_type", Value::text, "code"},
                                  {"redirect_uri", Value::redirect_uri},
                                  {"state", Value::state}}}},
        },
    .scope_separator = ",",
    .exchange_code =
        Request{
            .what = "Kuaishou's oauth2/access_token",
            .path = "/oauth2/access_token",
            .method = "GET",
            .encoding = Encoding::query,
            .params = {{"app_id", Value::client_id},
                       {"app_secret", Value::client_secret},
                       {"code", Value::code},
                       {"grant_type", Value::text, "authorization_code"}},
        },
    .refresh =
        Request{
            .what = "Kuaishou's oauth2/refresh_token",
            .path = "/oauth2/refresh_token",
            .method = "GET",
            .encoding = Encoding::query,
            .params = {{"app_id", Value::client_id},
                       {"app_secret", Value::client_secret},
                       {"refresh_token", Value::refresh_token},
                       {"grant_type", Value::text, "refresh_token"}},
        },
    .client_token =
        Request{
            .what = "Kuaishou's oauth2/access_token (client_credentials)",
            .path = "/oauth2/access_token",
            .method = "POST",
            .encoding = Encoding::form,
            .params = {{"app_id", Value::client_id},
                       {"app_secret", Value::client_secret},
                       {"grant_type", Value::text, "client_credentials"}},
        },
    .answer =
        {
            .code = {"result"},
            .ok_code = 1,
            .text = {"error_msg"},
            .refresh_expires_in = "refresh_token_expires_in",
            .account_id = "open_id",
            .scopes = "scopes",
        },
    .errors =
        {
            {.code = 100200100,
             .kind = OutcomeKind::app_misconfigured,
             .meaning = "a parameter is missing or of the wrong type"},
            {.code = 100200101,
             .kind = OutcomeKind::app_misconfigured,
             .meaning = "invalid client: check app_id, app_secret and the registered callback URL"},
            {.code = 100200102,
             .kind = OutcomeKind::needs_reauth,
             .meaning = "the request was refused (invalid token): connect the account again",
             .calls = Call::exchange_code | Call::refresh},
            {.code = 100200103, .kind = OutcomeKind::app_misconfigured, .meaning = "wrong response_type"},
            {.code = 100200104, .kind = OutcomeKind::app_misconfigured, .meaning = "unsupported grant_type"},
            {.code = 100200105,
             .kind = OutcomeKind::needs_reauth,
             .meaning =
                 "the authorization code is wrong, used or expired (it lives 2 minutes): connect the account again"},
            {.code = 100200106, .kind = OutcomeKind::app_misconfigured, .meaning = "wrong scope"},
            {.code = 100200107, .kind = OutcomeKind::app_misconfigured, .meaning = "invalid open_id"},
            {.code = 100200108, .kind = OutcomeKind::retry_later, .meaning = "the access token expired"},
            {.code = 100200109,
             .kind = OutcomeKind::needs_reauth,
             .meaning = "the user cancelled the app's authorization: connect the account again"},
            {.code = 100200110,
             .kind = OutcomeKind::needs_reauth,
             .meaning = "the user's authorization expired: connect the account again"},
            {.code = 100200111,
             .kind = OutcomeKind::needs_reauth,
             .meaning = "the user never authorized the app: connect the account again"},
            {.code = 100200112, .kind = OutcomeKind::app_misconfigured, .meaning = "invalid bundleToken (mobile SDK)"},
            {.code = 100200113,
             .kind = OutcomeKind::needs_reauth,
             .meaning = "the refresh token expired: connect the account again"},
            {.code = 100200500, .kind = OutcomeKind::retry_later, .meaning = "Kuaishou internal error"},
            {.code = 100100402,
             .kind = OutcomeKind::rate_limited,
             .meaning = "call limit reached (user banned, or daily user or app limit)"},
            {.code = 100100400, .kind = OutcomeKind::app_misconfigured, .meaning = "abnormal parameter"},
        },
    .lifetimes = {.refresh_token = 180LL * 24 * 3600,
                  .rotation = Rotation::rotates_keeping_expiry,
                  .refresh_expiry_fixed = true},
    .token_usage = TokenUsage::access_token_query,
    .options =
        {
            {.name = "authorize_page",
             .type = OptionType::choice,
             .about = "web: the authorization page (with ua); qr: the QR scan page",
             .choices = {"web", "qr"}},
            {.name = "ua", .type = OptionType::text, .about = "the web page's ua parameter (default pc)"},
        },
    .no_revoke = "Kuaishou has no revocation call; the user can end the authorization in the Kuaishou app",
};

}  // namespace

const Spec& kuaishou() { return kKuaishou; }

}  // namespace mediax::specs
