// An error the admin API reports to its caller: HTTP status, a stable code and a message
// (never a token or secret).
#pragma once

#include <stdexcept>
#include <string>

#include <nlohmann/json.hpp>

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

}  // namespace mediax
