#include "http/auth.hpp"

#include <httplib.h>
#include <spdlog/spdlog.h>

#include <regex>

#include <nlohmann/json.hpp>

#include "service/api_keys.hpp"
#include "util/strings.hpp"

namespace mediax {

namespace {

void refuse(httplib::Response& res, const AuthRefusal& r) {
  res.status = r.status;
  if (r.status == 401) res.set_header("WWW-Authenticate", r.www_authenticate());
  res.set_content(nlohmann::json{{"error", r.code}, {"message", r.message}}.dump(), "application/json");
}

}  // namespace

bool is_wechat_component_event_path(const std::string& path) {
  static const std::regex events(R"(/wechat/component/[^/]+/events)");
  return std::regex_match(path, events);
}

bool is_public_route(const std::string& method, const std::string& path) {
  // The WeChat third-party platform's event URL: WeChat calls it, signing what it sends (checked
  // by the receiver, service/component_events.hpp).
  if (method == "POST" && is_wechat_component_event_path(path)) return true;
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
  if (!util::istarts_with(authorization, "bearer ")) return "";
  auto key = authorization.substr(7);
  while (!key.empty() && key.front() == ' ') key.erase(0, 1);
  while (!key.empty() && key.back() == ' ') key.pop_back();
  return key;
}

std::string AuthRefusal::www_authenticate() const {
  if (status != 401) return "";
  return code == "invalid_token" ? "Bearer realm=\"mediaxd\", error=\"invalid_token\"" : "Bearer realm=\"mediaxd\"";
}

AuthRefusal refuse_no_key(const std::string& method, const std::string& path) {
  spdlog::warn("auth: {} {} refused: no API key (Authorization: Bearer ...)", method, path);
  return {401, "unauthorized", "an API key is required: Authorization: Bearer <key>"};
}

AuthRefusal refuse_unchecked(const std::string& method, const std::string& path, const std::exception& e) {
  spdlog::error("auth: {} {}: cannot check the API key: {}", method, path, e.what());
  return {503, "unavailable", "API keys cannot be checked right now"};
}

std::optional<AuthRefusal> refuse_match(const std::string& method, const std::string& path, const ApiKeyMatch& m) {
  if (m.kind == ApiKeyMatch::Kind::unknown) {
    spdlog::warn("auth: {} {} refused: unknown API key", method, path);
    return AuthRefusal{401, "invalid_token", "the API key is not valid"};
  }
  if (m.kind == ApiKeyMatch::Kind::revoked) {
    spdlog::warn("auth: {} {} refused: API key '{}' is revoked", method, path, m.name);
    return AuthRefusal{401, "invalid_token", "the API key is not valid"};
  }
  if (m.role == ApiRole::reader && !reader_may(method, path)) {
    spdlog::warn("auth: {} {} refused: API key '{}' has role reader", method, path, m.name);
    return AuthRefusal{403, "forbidden", "this API key (role reader) may only read tokens and report rejected tokens"};
  }
  return std::nullopt;
}

bool refuse_without_api_key(const httplib::Request& req, httplib::Response& res, ApiKeyRegistry& keys) {
  if (is_public_route(req.method, req.path)) return false;
  const std::string key = bearer_key(req.get_header_value("Authorization"));
  if (key.empty()) {
    refuse(res, refuse_no_key(req.method, req.path));
    return true;
  }
  ApiKeyMatch m;
  try {
    m = keys.check(key);
  } catch (const std::exception& e) {
    refuse(res, refuse_unchecked(req.method, req.path, e));
    return true;
  }
  if (auto r = refuse_match(req.method, req.path, m)) {
    refuse(res, *r);
    return true;
  }
  return false;
}

}  // namespace mediax
