// Small helpers of the fake OAuth 2.0 server: randomness, encodings, form bodies, Basic auth.
// Self-contained (OpenSSL only) so the fake never depends on the daemon code it tests.
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace mediax::fake {

using Form = std::vector<std::pair<std::string, std::string>>;

// base64url (no padding) of `bytes` random bytes.
std::string random_token(std::size_t bytes = 24);

std::string base64url_encode(std::string_view bytes);
std::optional<std::string> base64_decode(std::string_view text);  // standard alphabet, padding optional
std::string sha256(std::string_view bytes);                       // 32 raw bytes
std::string hmac_sha256(std::string_view key, std::string_view msg);

// RFC 7636 §4.6: BASE64URL(SHA256(verifier)).
std::string pkce_s256(std::string_view verifier);

// application/x-www-form-urlencoded ('+' is a space); nullopt on a bad %-escape.
std::optional<std::string> url_decode(std::string_view s);
std::string url_encode(std::string_view s);
// Parses a form body or a query string; nullopt when an escape is broken.
std::optional<Form> parse_form(std::string_view body);
// The value of the single field `name`; nullopt when absent. `repeated` is set when it occurs twice.
std::optional<std::string> form_value(const Form& f, const std::string& name, bool* repeated = nullptr);

// RFC 6749 §2.3.1: "Basic base64(urlencode(id) ':' urlencode(secret))" -> (id, secret).
std::optional<std::pair<std::string, std::string>> parse_basic_auth(const std::string& header);

// Space-separated scope list.
std::vector<std::string> split_scopes(const std::string& scope);
bool has_scope(const std::string& scope, const std::string& wanted);

}  // namespace mediax::fake
