// An error the admin API reports to its caller: HTTP status, a stable code and a message
// (never a token or secret). The service layer returns it as a value (tl::expected<T, ApiError>,
// see Expected below); only http/ turns it into an answer (http/answers.hpp: error_answer).
// It stays throwable for the request parsers (app_request, authorize_choices, grant_request...):
// a bad field deep inside nested checks leaves in one step, as a parser's error does.
#pragma once

#include <stdexcept>
#include <string>

#include <nlohmann/json.hpp>
#include <tl/expected.hpp>

#include "store/records.hpp"

namespace mediax {

class ApiError : public std::runtime_error {
 public:
  ApiError(int status, std::string code, const std::string& message)
      : std::runtime_error(message), status_(status), code_(std::move(code)) {}
  ApiError(int status, std::string code, const std::string& message, nlohmann::json details)
      : std::runtime_error(message), status_(status), code_(std::move(code)), details_(std::move(details)) {}
  int status() const { return status_; }
  const std::string& code() const { return code_; }
  // Extra fields merged into the error body (e.g. platform_code, class).
  const nlohmann::json& details() const { return details_; }

 private:
  int status_;
  std::string code_;
  nlohmann::json details_ = nlohmann::json::object();
};

// What a service call returns: its value, or why the admin API refuses it.
template <typename T>
using Expected = tl::expected<T, ApiError>;

// The request parsers throw ApiError from deep inside nested field checks; a service call takes
// their verdict as a value here: parsed([&] { return app_from_request(body, ...); }).
template <typename F>
auto parsed(F&& parse) -> Expected<decltype(parse())> {
  try {
    return parse();
  } catch (const ApiError& e) {
    return tl::unexpected(e);
  }
}

// A store failure as the admin API reports it: 500 secret_unreadable (names the row and why, never
// the value) or 503 database_unavailable.
inline ApiError database_error(const StoreError& e) {
  if (dynamic_cast<const SecretUnreadableError*>(&e) != nullptr) return ApiError(500, "secret_unreadable", e.what());
  return ApiError(503, "database_unavailable", "the database is unavailable; try again shortly");
}

}  // namespace mediax
