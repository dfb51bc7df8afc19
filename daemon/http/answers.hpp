// What every route answers alike: JSON text, error bodies, the error of an exception, grant ids
// in paths and the stale-token headers. Free of any HTTP library.
#pragma once

#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <string_view>

#include <nlohmann/json.hpp>

namespace mediax {

class ApiError;

// body as text. A path or a platform's text may carry bytes that are not UTF-8 (GET /v1/apps/%FF):
// replaced with U+FFFD rather than letting dump() throw while reporting an error.
std::string json_text(const nlohmann::json& body);

// {"error": code, "message": message} with the fields of details (an object) merged in.
nlohmann::json error_body(const std::string& code, const std::string& message,
                          const nlohmann::json& details = nlohmann::json::object());

struct ErrorAnswer {
  int status = 500;
  nlohmann::json body;
};

// The one mapping of a service's ApiError (service/api_error.hpp) to the status and JSON body the
// admin API and the token listener answer with.
ErrorAnswer error_answer(const ApiError& e);

// The error answer for the exception being handled (call inside a catch block): an ApiError (the
// request parsers throw it) by error_answer; a StoreError 503 database_unavailable; anything else
// 500 internal_error. The last two are logged with method, path and where (e.g. " (token
// listener)"); the caller's message never is.
ErrorAnswer error_for_current_exception(const std::string& method, const std::string& path,
                                        std::string_view where = "");

// The grant id of a path segment: a positive decimal integer, nullopt otherwise.
std::optional<std::int64_t> grant_id_of(std::string_view segment);
// The same, ApiError 404 not_found ("no grant '<segment>'") when it is not one.
std::int64_t parse_grant_id(std::string_view segment);

// A token answered from memory while the database is unreachable: another instance may have
// refreshed it since (it is never expired: token reads refuse expired tokens). True when
// database_reachable says no or throws; false when it is empty (assumed reachable).
bool serving_stale(const std::function<bool()>& database_reachable);
// The headers such an answer carries.
inline constexpr std::pair<std::string_view, std::string_view> kStaleHeaders[] = {
    {"Warning", "110 - \"Response is stale\""}, {"X-Mediax-Stale", "database-unreachable"}};

}  // namespace mediax
