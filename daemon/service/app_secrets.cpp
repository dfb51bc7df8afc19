#include "service/app_secrets.hpp"

#include "service/app_request.hpp"

namespace mediax {

namespace {

constexpr std::size_t kMaxSecretLength = 4096;
constexpr const char* kCurrentKey = "encoding_aes_key";
constexpr const char* kPreviousKey = "previous_encoding_aes_key";

std::string stored_string(const nlohmann::json& options, const std::string& name) {
  if (!options.is_object()) return {};
  auto it = options.find(name);
  return it != options.end() && it->is_string() ? it->get<std::string>() : std::string();
}

}  // namespace

AppSecretsChange app_secrets_change_from_request(const nlohmann::json& body) {
  if (!body.is_object()) throw ApiError(400, "invalid_json", "the body must be a JSON object");
  reject_unknown_fields(body, {"client_secret", "options"}, "");
  AppSecretsChange change;
  if (body.contains("client_secret")) {
    change.client_secret = get_string(body, "client_secret", true, kMaxSecretLength);
  }
  if (auto it = body.find("options"); it != body.end()) {
    if (!it->is_object()) throw bad_field("options", "must be an object of secret option names and strings");
    for (const auto& [name, value] : it->items()) {
      const std::string field = "options." + name;
      if (name.empty() || name.size() > 64 || !valid_app_name(name)) {
        throw bad_field("options", "option names are [a-z0-9_-], at most 64 characters");
      }
      if (value.is_null()) {
        change.options[name] = nullptr;
        continue;
      }
      nlohmann::json one = {{field, value}};
      auto v = get_string(one, field, false, kMaxSecretLength);
      change.options[name] = v.empty() ? nlohmann::json(nullptr) : nlohmann::json(v);
    }
  }
  if (!change.client_secret && change.options.empty()) {
    throw ApiError(400, "invalid_field", "give client_secret, options or both");
  }
  return change;
}

std::vector<std::string> apply_app_secrets(App& app, const AppSecretsChange& change) {
  std::vector<std::string> changed;
  if (change.client_secret && *change.client_secret != app.client_secret) {
    app.client_secret = *change.client_secret;
    changed.push_back("client_secret");
  }
  if (!app.secret_options.is_object()) app.secret_options = nlohmann::json::object();
  nlohmann::json next = app.secret_options;
  for (const auto& [name, value] : change.options.items()) {
    if (value.is_null()) {
      next.erase(name);
    } else {
      next[name] = value;
    }
  }
  // WeChat: during an EncodingAESKey change pushes come sealed with the old key or the new one;
  // keeping the old one as previous accepts both until the admin drops it.
  const std::string current = stored_string(app.secret_options, kCurrentKey);
  const std::string wanted = stored_string(next, kCurrentKey);
  if (change.options.contains(kCurrentKey) && !change.options.contains(kPreviousKey) && !current.empty() &&
      !wanted.empty() && wanted != current) {
    next[kPreviousKey] = current;
  }
  for (const auto& [name, value] : next.items()) {
    if (!app.secret_options.contains(name) || app.secret_options[name] != value) changed.push_back("options." + name);
  }
  for (const auto& [name, value] : app.secret_options.items()) {
    if (!next.contains(name)) changed.push_back("options." + name);
  }
  // prepare_app takes secret options from `options`, where the admin writes them at registration.
  if (!app.options.is_object()) app.options = nlohmann::json::object();
  for (const auto& [name, value] : change.options.items()) {
    if (!value.is_null()) app.options[name] = value;
  }
  app.secret_options = std::move(next);
  return changed;
}

}  // namespace mediax
