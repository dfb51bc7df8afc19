#include "http/auth.hpp"

#include <spdlog/spdlog.h>

#include "service/api_keys.hpp"
#include "util/strings.hpp"

namespace mediax {

Access required_access(const Route* route, bool metrics_need_key) {
  if (route == nullptr) return Access::admin;
  if (route->access == Access::metrics) return metrics_need_key ? Access::reader : Access::open;
  return route->access;
}

Gate gate_of(const RouteMatch& m, ListenerKind where, bool metrics_need_key) {
  if (m.route == nullptr && where == ListenerKind::token) {
    return m.other_methods.empty() ? Gate::not_served : Gate::method_not_allowed;
  }
  return required_access(m.route, metrics_need_key) == Access::open ? Gate::open : Gate::key;
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

}  // namespace mediax
