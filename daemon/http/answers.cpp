#include "http/answers.hpp"

#include <spdlog/spdlog.h>

#include <charconv>
#include <exception>

#include "service/api_error.hpp"
#include "store/store.hpp"

namespace mediax {

std::string json_text(const nlohmann::json& body) {
  return body.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
}

nlohmann::json error_body(const std::string& code, const std::string& message, const nlohmann::json& details) {
  nlohmann::json body = {{"error", code}, {"message", message}};
  if (details.is_object()) body.update(details);
  return body;
}

ErrorAnswer error_answer(const ApiError& e) { return {e.status(), error_body(e.code(), e.what(), e.details())}; }

ErrorAnswer error_for_current_exception(const std::string& method, const std::string& path, std::string_view where) {
  try {
    throw;
  } catch (const ApiError& e) {
    return error_answer(e);
  } catch (const StoreError& e) {
    // Whatever route reached the database while it was away.
    spdlog::warn("{} {}{}: database unavailable: {}", method, path, where, e.what());
    return {503, error_body("database_unavailable", "the database is unavailable; try again shortly")};
  } catch (const std::exception& e) {
    spdlog::error("{} {}{}: internal error: {}", method, path, where, e.what());
    return {500, error_body("internal_error", "internal error; see the daemon's log")};
  }
}

std::optional<std::int64_t> grant_id_of(std::string_view segment) {
  std::int64_t v = 0;
  const auto [end, ec] = std::from_chars(segment.data(), segment.data() + segment.size(), v);
  if (ec != std::errc() || end != segment.data() + segment.size() || v <= 0) return std::nullopt;
  return v;
}

std::int64_t parse_grant_id(std::string_view segment) {
  if (auto id = grant_id_of(segment)) return *id;
  throw ApiError(404, "not_found", "no grant '" + std::string(segment) + "'");
}

bool serving_stale(const std::function<bool()>& database_reachable) {
  if (!database_reachable) return false;
  try {
    return !database_reachable();
  } catch (const std::exception&) {
    return true;
  }
}

}  // namespace mediax
