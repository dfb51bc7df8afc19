#include "platforms/granted_scopes.hpp"

#include <algorithm>

namespace mediax::granted_scopes {

std::string canonical(const std::string& scope) {
  // Google's token answers name these two by URL even when they were asked for by short name.
  if (scope == "email") return "https://www.googleapis.com/auth/userinfo.email";
  if (scope == "profile") return "https://www.googleapis.com/auth/userinfo.profile";
  return scope;
}

std::vector<std::string> missing(const std::vector<std::string>& required, const std::vector<std::string>& granted) {
  std::vector<std::string> have;
  have.reserve(granted.size());
  for (const auto& g : granted) have.push_back(canonical(g));
  std::vector<std::string> out;
  for (const auto& r : required) {
    if (r.empty() || std::find(have.begin(), have.end(), canonical(r)) != have.end()) continue;
    if (std::find(out.begin(), out.end(), r) == out.end()) out.push_back(r);
  }
  return out;
}

std::vector<std::string> required_of(const App& app) {
  if (app.options.is_object()) {
    auto it = app.options.find("required_scopes");
    if (it != app.options.end() && it->is_array()) {
      std::vector<std::string> out;
      for (const auto& s : *it) {
        if (s.is_string()) out.push_back(s.get<std::string>());
      }
      return out;
    }
  }
  return app.scopes;
}

std::optional<std::string> check_required_option(const App& app) {
  if (!app.options.is_object()) return std::nullopt;
  auto it = app.options.find("required_scopes");
  if (it == app.options.end() || it->is_null()) return std::nullopt;
  if (!it->is_array()) return "options.required_scopes: must be a list of scopes";
  for (const auto& s : *it) {
    if (!s.is_string() || s.get<std::string>().empty()) return "options.required_scopes: must be a list of scopes";
    const std::string scope = s.get<std::string>();
    if (!missing({scope}, app.scopes).empty()) {
      return "options.required_scopes: \"" + scope + "\" is not one of the app's scopes";
    }
  }
  return std::nullopt;
}

void record_missing(const App& app, TokenResult& t) {
  if (t.scopes.empty()) return;
  if (!t.extra.is_object()) t.extra = nlohmann::json::object();
  t.extra[kExtraKey] = missing(required_of(app), t.scopes);
}

std::vector<std::string> missing_of(const nlohmann::json& grant_extra) {
  std::vector<std::string> out;
  if (!grant_extra.is_object()) return out;
  auto it = grant_extra.find(kExtraKey);
  if (it == grant_extra.end() || !it->is_array()) return out;
  for (const auto& s : *it) {
    if (s.is_string()) out.push_back(s.get<std::string>());
  }
  return out;
}

}  // namespace mediax::granted_scopes
