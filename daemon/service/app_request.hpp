// The admin API's JSON request bodies turned into values, strictly: unknown fields, wrong types,
// over-long strings, control characters and unsafe names are ApiError 400 "invalid_field" whose
// message starts with the field's name. No I/O: the fuzz targets call these directly.
#pragma once

#include <cstddef>
#include <set>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "core/types.hpp"
#include "service/api_error.hpp"

namespace mediax {

// Names of apps: [a-z0-9][a-z0-9_-]{0,62}
bool valid_app_name(const std::string& name);

// ApiError 400 invalid_field "field: why".
ApiError bad_field(const std::string& field, const std::string& why);
bool is_http_url(const std::string& s);
// obj[field] as a string of at most max_len bytes without control characters; "" when absent or
// null (an error when required, as is an empty required string).
std::string get_string(const nlohmann::json& obj, const std::string& field, bool required, std::size_t max_len = 2048);
// The same, and when not empty an http:// or https:// URL; errors name `label`.
std::string get_url(const nlohmann::json& obj, const std::string& field, const std::string& label, bool required);

// ApiError 400 invalid_field naming the first field of obj not in `known` (prefixed with `prefix`),
// its name cut short and without control characters.
void reject_unknown_fields(const nlohmann::json& obj, const std::set<std::string>& known, const std::string& prefix);

// Limits of the scopes list (each scope is RFC 6749 §3.3 scope-token: printable ASCII but space, '"', '\').
inline constexpr std::size_t kMaxScopes = 100;
inline constexpr std::size_t kMaxScopeLength = 256;
// Longest access token a consumer may report as refused.
inline constexpr std::size_t kMaxReportedTokenLength = 16384;
// obj[field] as a list of scopes within the limits above; empty when absent or null.
std::vector<std::string> get_scopes(const nlohmann::json& obj, const std::string& field);

// POST /v1/apps: the app to register, before its platform's own checks (Platform::prepare_app).
// `platforms` are the supported platform names (ApiError 400 unknown_platform otherwise);
// redirect_uri defaults to the app's own callback, `callback_base`/{name}.
App app_from_request(const nlohmann::json& body, const std::vector<std::string>& platforms,
                     const std::string& callback_base);

// POST /v1/{apps/NAME|grants/ID}/token/rejected: the access token the platform refused.
std::string rejected_token_from_request(const nlohmann::json& body);

}  // namespace mediax
