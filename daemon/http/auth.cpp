#include "http/auth.hpp"

#include <httplib.h>
#include <spdlog/spdlog.h>

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

Access required_access(const Route* route) { return route != nullptr ? route->access : Access::admin; }

Gate gate_of(const RouteMatch& m, ListenerKind where) {
  if (m.route == nullptr && where == ListenerKind::token) {
    return m.other_methods.empty() ? Gate::not_served : Gate::method_not_allowed;
  }
  return required_access(m.route) == Access::open ? Gate::open : Gate::key;
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

std::optional<AuthRefusal> refuse_match(const std::string& method, const std::string& path, Access required,
                                        const ApiKeyMatch& m) {
  if (m.kind == ApiKeyMatch::Kind::unknown) {
    spdlog::warn("auth: {} {} refused: unknown API key", method, path);
    return AuthRefusal{401, "invalid_token", "the API key is not valid"};
  }
  if (m.kind == ApiKeyMatch::Kind::revoked) {
    spdlog::warn("auth: {} {} refused: API key '{}' is revoked", method, path, m.name);
    return AuthRefusal{401, "invalid_token", "the API key is not valid"};
  }
  if (m.role == ApiRole::reader && required == Access::admin) {
    spdlog::warn("auth: {} {} refused: API key '{}' has role reader", method, path, m.name);
    return AuthRefusal{403, "forbidden", "this API key (role reader) may only read tokens and report rejected tokens"};
  }
  return std::nullopt;
}

bool refuse_without_api_key(const httplib::Request& req, httplib::Response& res, ApiKeyRegistry& keys) {
  const auto route = match_route(route_table(), req.method, req.path).route;
  if (required_access(route) == Access::open) return false;
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
  if (auto r = refuse_match(req.method, req.path, required_access(route), m)) {
    refuse(res, *r);
    return true;
  }
  return false;
}

}  // namespace mediax
