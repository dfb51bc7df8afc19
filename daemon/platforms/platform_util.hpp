// Helpers shared by the platform classes: tolerant readers of JSON members (numbers may come as
// strings), platform text made fit for an Outcome message, URL building, and the classification of
// an HTTP exchange that carries no platform answer (transport error, 5xx, 429, not JSON).
#pragma once

#include <cstdint>
#include <nlohmann/json.hpp>
#include <cstddef>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "core/types.hpp"
#include "net/http_client.hpp"

namespace mediax {
struct PlatformSettings;
}

namespace mediax::platform_util {

// The base URL `key` of [platforms.PLATFORM] in the config (tests point them at fakes); `fallback`
// (the real host) when it is absent or empty.
std::string configured_url(const PlatformSettings& settings, const std::string& platform, const std::string& key,
                           const std::string& fallback);

using Form = std::vector<std::pair<std::string, std::string>>;

// Longer lifetimes than this (ten years) are read as this: keeps time arithmetic far from overflow.
constexpr std::int64_t kMaxSeconds = 10LL * 365 * 24 * 3600;

// Platform answers nest a few levels; deeper is not an answer (util/json_depth.hpp: a copy of it
// would recurse past a refresh fiber's stack).
constexpr std::size_t kMaxAnswerDepth = 32;

// The body as a JSON object; nullopt when it is not one, or nests deeper than kMaxAnswerDepth.
std::optional<nlohmann::json> parse_object(const std::string& body);
// A string member; "" when absent or not a string.
std::string string_member(const nlohmann::json& j, const char* key);
// An integer given as a JSON number or a numeric string ("0", " 10010 "); nullopt otherwise.
// Floats with a fraction are not integers.
std::optional<std::int64_t> int_member(const nlohmann::json& j, const char* key);
// A positive lifetime given as a number or a numeric string; clamped to kMaxSeconds. Non-positive,
// absent or unreadable: nullopt.
std::optional<Seconds> seconds_member(const nlohmann::json& j, const char* key);
// An id given as a string or an integer; "" otherwise.
std::string id_member(const nlohmann::json& j, const char* key);

// A platform's text made fit for a log line: control characters become spaces, at most 300 bytes,
// never cut inside a UTF-8 sequence.
std::string clean_text(const std::string& s);
// Replaces every occurrence of each secret (4 characters or more) in `text` with "[redacted]".
std::string scrub(std::string text, const std::vector<std::string>& secrets);
// clean_text after replacing every secret (what the request carried) with "[redacted]".
std::string safe_text(const std::string& s, const std::vector<std::string>& secrets);

std::string join(const std::vector<std::string>& parts, const std::string& separator);

// `base` with the fields appended to its query (after '?' or '&'); a fragment of `base` is dropped.
std::string append_query(const std::string& base, const Form& fields);
// base_url without trailing slashes + path (which starts with '/').
std::string join_url(const std::string& base_url, const std::string& path);

// Retry-After as delta-seconds or an HTTP-date (RFC 9110 §10.2.3); nullopt when absent or unreadable.
std::optional<Seconds> parse_retry_after(const std::string& value, TimePoint now);

// What a platform's successful answer may carry into the store and to readers: access token, refresh
// token and token type of RFC 6749 VSCHARs (%x20-7E; Appendix A.12, A.13, A.17), account id, scopes
// and extra without NUL (PostgreSQL text and jsonb refuse it). nullopt when fine, else the field's name.
std::optional<std::string> token_result_problem(const TokenResult& t);
// Outcome::success(t) with http_status; when token_result_problem finds something, retry_later
// "bad_response" naming the field (never its value): `what` names the endpoint.
Outcome checked_success(TokenResult t, int http_status, const std::string& what);

// A platform's numeric error codes grouped by what they mean; a code in no group means `otherwise`.
struct CodeKinds {
  OutcomeKind kind;
  std::vector<std::int64_t> codes;
};
OutcomeKind kind_of_code(std::int64_t code, const std::vector<CodeKinds>& table, OutcomeKind otherwise);

// What an HTTP status says before any body is read: the one rule every platform class follows.
enum class HttpStatusClass {
  no_answer,            // 0: a transport failure (HttpClientResponse::error)
  rate_limited,         // 429
  server_trouble,       // 5xx, and 408 (the server stopped waiting for us): retry, whatever the body says
  credentials_refused,  // 401, 403
  wrong_url,            // 3xx, 404, 405: following a redirect could hand a secret to another host
  answered,             // 2xx
  other,                // any other 4xx: the platform's error code (when the body has one) decides
};
HttpStatusClass classify_http_status(int status);
// no_answer, rate_limited or server_trouble: the outcome is http_failure's, before the body is read.
bool status_decides(int status);

// The outbound guard refused the endpoint's address (HttpClientResponse::address_refused): the
// app's configuration, app_misconfigured "address_not_allowed" naming the host and the rule;
// nullopt for any other answer. `what` names the endpoint.
std::optional<Outcome> refused_address(const HttpClientResponse& r, const std::string& what);

// A failure that is not a platform's own error answer: no HTTP answer, HTTP 429, 5xx, a 3xx, 4xx
// or a body that is not JSON. `what` names the endpoint for the message ("Douyin's token endpoint").
// Never copies the body into the message.
Outcome http_failure(const HttpClientResponse& r, const std::string& what, TimePoint now);

// Strict reading of app.options. Each returns nullopt when fine, else "options.X: why".
// The first key of `options` not in `known` ("options.X: unknown option"); also fails when options
// is not an object.
std::optional<std::string> unknown_option(const nlohmann::json& options, const std::vector<std::string>& known);
// options[key] as a JSON integer in lo..hi; `out` is untouched when the key is absent or null.
std::optional<std::string> integer_option(const nlohmann::json& options, const char* key, std::int64_t lo,
                                          std::int64_t hi, std::int64_t& out);
// options[key] as one of `allowed`; `out` is untouched when absent or null.
std::optional<std::string> choice_option(const nlohmann::json& options, const char* key,
                                         const std::vector<std::string>& allowed, std::string& out);
// options[key] as true or false; `out` is untouched when absent or null.
std::optional<std::string> bool_option(const nlohmann::json& options, const char* key, bool& out);

// Seconds from `now` to the next midnight at the fixed UTC offset (hours); at least 1.
Seconds until_next_midnight(TimePoint now, int utc_offset_hours);

}  // namespace mediax::platform_util
