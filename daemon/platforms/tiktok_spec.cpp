// TikTok (Login Kit v2): OAuth 2.0 with the client id called client_key, one token endpoint for
// every grant (form body, the secret in it), flat answers and RFC 6749-style errors
// {"error", "error_description", "log_id"}; PKCE on by default with a hex SHA-256 challenge (the
// desktop page's rule; web sign-in reportedly demands PKCE too). Each refresh hands out a new
// refresh token and the old one stops working; refresh_expires_in is the new one's remaining life.
// The client token (grant_type=client_credentials) serves the Research and Commercial Content
// APIs. Revocation takes the access token. platforms-next.md §4.
#include "platforms/specs.hpp"

namespace mediax::specs {

namespace {

using namespace spec;

const std::vector<Param> kClient = {{"client_key", Value::client_id}, {"client_secret", Value::client_secret}};

std::vector<Param> with_client(std::vector<Param> more) {
  std::vector<Param> all = kClient;
  all.insert(all.end(), more.begin(), more.end());
  return all;
}

const Spec kTikTok{
    .name = "tiktok",
    .display = "TikTok",
    .base_urls = {{.key = "base_url", .fallback = "https://www.tiktok.com", .about = "TikTok authorization pages"},
                  {.key = "api_base_url", .fallback = "https://open.tiktokapis.com", .about = "TikTok API"}},
    .authorize = {.pages = {{.path = "/v2/auth/authorize/",
                             .params = {{"client_key", Value::client_id},
                                        {"scope", Value::scopes},
                                        {"response_type", Value::text, "code"},
                                        {"redirect_uri", Value::redirect_uri},
                                        {"state", Value::state},
                                        {"code_challenge", Value::code_challenge}}}}},
    .pkce = true,
    .pkce_hex_option = "pkce_challenge_encoding",
    .scope_separator = ",",
    .exchange_code = Request{.what = "TikTok's v2/oauth/token",
                             .base = "api_base_url",
                             .path = "/v2/oauth/token/",
                             .params = with_client({{"code", Value::code},
                                                    {"grant_type", Value::text, "authorization_code"},
                                                    {"redirect_uri", Value::redirect_uri},
                                                    {"code_verifier", Value::code_verifier}})},
    .refresh = Request{.what = "TikTok's v2/oauth/token",
                       .base = "api_base_url",
                       .path = "/v2/oauth/token/",
                       .params = with_client(
                           {{"grant_type", Value::text, "refresh_token"}, {"refresh_token", Value::refresh_token}})},
    .client_token = Request{.what = "TikTok's v2/oauth/token (client_credentials)",
                            .base = "api_base_url",
                            .path = "/v2/oauth/token/",
                            .params = with_client({{"grant_type", Value::text, "client_credentials"}})},
    .revoke = Request{.what = "TikTok's v2/oauth/revoke",
                      .base = "api_base_url",
                      .path = "/v2/oauth/revoke/",
                      .params = with_client({{"token", Value::access_token}})},
    .answer =
        {
            // OAuth answers: "error": "invalid_grant"; v2 API answers: "error": {"code": "...", "message"}.
            .error_name = {"error", "error.code"},
            .ok_name = "ok",
            .text = {"error_description", "error.message"},
            .refresh_expires_in = "refresh_expires_in",
            .account_id = "open_id",
            .scopes = "scope",
            .token_type = "token_type",
        },
    .errors =
        {
            {.name = "invalid_grant",
             .kind = OutcomeKind::needs_reauth,
             .meaning = "the code or refresh token is invalid, expired, revoked or already used: connect the account "
                        "again"},
            {.name = "invalid_client",
             .kind = OutcomeKind::app_misconfigured,
             .meaning = "client authentication failed: check client_key and client_secret"},
            {.name = "unauthorized_client",
             .kind = OutcomeKind::app_misconfigured,
             .meaning = "the app may not use this grant type"},
            {.name = "invalid_scope",
             .kind = OutcomeKind::app_misconfigured,
             .meaning = "a scope is invalid or not approved for the app"},
            {.name = "invalid_request", .kind = OutcomeKind::app_misconfigured, .meaning = "the request is malformed"},
            {.name = "unsupported_grant_type",
             .kind = OutcomeKind::app_misconfigured,
             .meaning = "unsupported grant type"},
            {.name = "unsupported_response_type",
             .kind = OutcomeKind::app_misconfigured,
             .meaning = "unsupported response type"},
            {.name = "access_denied",
             .kind = OutcomeKind::needs_reauth,
             .meaning = "the user or TikTok refused: connect the account again"},
            {.name = "server_error", .kind = OutcomeKind::retry_later, .meaning = "TikTok internal error"},
            {.name = "temporarily_unavailable", .kind = OutcomeKind::retry_later, .meaning = "TikTok is unavailable"},
            {.name = "access_token_invalid",
             .kind = OutcomeKind::retry_later,
             .meaning = "the access token is invalid"},
            {.name = "scope_not_authorized",
             .kind = OutcomeKind::needs_reauth,
             .meaning = "the user has not granted this scope: connect the account again"},
            {.name = "scope_permission_missed",
             .kind = OutcomeKind::app_misconfigured,
             .meaning = "the scope is not approved for the app"},
            {.name = "rate_limit_exceeded", .kind = OutcomeKind::rate_limited, .meaning = "rate limit exceeded"},
            {.name = "internal_error", .kind = OutcomeKind::retry_later, .meaning = "TikTok internal error"},
            {.name = "invalid_params", .kind = OutcomeKind::app_misconfigured, .meaning = "invalid parameters"},
        },
    .lifetimes = {.rotation = Rotation::rotates},
    .options =
        {
            {.name = "pkce", .type = OptionType::boolean, .about = "send a PKCE challenge (default true)"},
            {.name = "pkce_challenge_encoding",
             .type = OptionType::choice,
             .about = "the challenge's encoding: hex (TikTok's desktop page, the default) or base64url (RFC 7636)",
             .choices = {"hex", "base64url"}},
        },
};

}  // namespace

const Spec& tiktok() { return kTikTok; }

}  // namespace mediax::specs
