#include "http/auth.hpp"

#include <httplib.h>
#include <spdlog/spdlog.h>

#include <regex>

#include <nlohmann/json.hpp>

#include "service/api_keys.hpp"

namespace mediax {

namespace {

void refuse(httplib::Response& res, int status, const std::string& code, const std::string& message) {
  res.status = status;
  if (status == 401) {
    res.set_header("WWW-Authenticate", code == "invalid_token" ? "Bearer realm=\"mediaxd\", error=\"invalid_token\""
                                                                : "Bearer realm=\"mediaxd\"");
  }
  res.set_content(nlohmann::json{{"error", code}, {"message", message}}.dump(), "application/json");
}

}  // namespace

bool is_public_route(const std::string& method, const std::string& path) {
  if (method != "GET" && method != "HEAD") return false;
  if (path == "/healthz" || path == "/readyz" || path == "/metrics" || path == "/oauth/callback") return true;
  // The console's static files (the console's API calls carry a key like any other client).
  if (path == "/console" || path.rfind("/console/", 0) == 0) return path.find("..") == std::string::npos;
  return false;
}

bool reader_may(const std::string& method, const std::string& path) {
  // The same patterns as the routes in admin_server.cpp ([^/]+ segments, whole-path match).
  static const std::regex token(R"(/v1/(apps|grants)/[^/]+/token)");
  static const std::regex rejected(R"(/v1/(apps|grants)/[^/]+/token/rejected)");
  if (method == "GET") return std::regex_match(path, token);
  if (method == "POST") return std::regex_match(path, rejected);
  return false;
}

std::string bearer_key(const std::string& authorization) {
  // RFC 6750 §2.1; the scheme is case-insensitive.
  if (authorization.size() <= 7) return "";
  std::string scheme = authorization.substr(0, 7);
  for (auto& c : scheme) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  if (scheme != "bearer ") return "";
  auto key = authorization.substr(7);
  while (!key.empty() && key.front() == ' ') key.erase(0, 1);
  while (!key.empty() && key.back() == ' ') key.pop_back();
  return key;
}

bool refuse_without_api_key(const httplib::Request& req, httplib::Response& res, ApiKeyRegistry& keys) {
  if (is_public_route(req.method, req.path)) return false;
  const std::string key = bearer_key(req.get_header_value("Authorization"));
  if (key.empty()) {
    spdlog::warn("auth: {} {} refused: no API key (Authorization: Bearer ...)", req.method, req.path);
    refuse(res, 401, "unauthorized", "an API key is required: Authorization: Bearer <key>");
    return true;
  }
  ApiKeyMatch m;
  try {
    m = keys.check(key);
  } catch (const std::exception& e) {
    spdlog::error("auth: {} {}: cannot check the API key: {}", req.method, req.path, e.what());
    refuse(res, 503, "unavailable", "API keys cannot be checked right now");
    return true;
  }
  if (m.kind == ApiKeyMatch::Kind::unknown) {
    spdlog::warn("auth: {} {} refused: unknown API key", req.method, req.path);
    refuse(res, 401, "invalid_token", "the API key is not valid");
    return true;
  }
  if (m.kind == ApiKeyMatch::Kind::revoked) {
    spdlog::warn("auth: {} {} refused: API key '{}' is revoked", req.method, req.path, m.name);
    refuse(res, 401, "invalid_token", "the API key is not valid");
    return true;
  }
  if (m.role == ApiRole::reader && !reader_may(req.method, req.path)) {
    spdlog::warn("auth: {} {} refused: API key '{}' has role reader", req.method, req.path, m.name);
    refuse(res, 403, "forbidden", "this API key (role reader) may only read tokens and report rejected tokens");
    return true;
  }
  return false;
}

}  // namespace mediax
