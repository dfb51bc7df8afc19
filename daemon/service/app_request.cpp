#include "service/app_request.hpp"

#include <algorithm>
#include <regex>
#include <set>

#include "service/connect_checks.hpp"

namespace mediax {

namespace {

bool has_control_chars(const std::string& s) {
  return std::any_of(s.begin(), s.end(), [](char c) {
    const auto u = static_cast<unsigned char>(c);
    return u < 0x20 || u == 0x7f;
  });
}

bool valid_scope(const std::string& s) {
  if (s.empty() || s.size() > kMaxScopeLength) return false;
  return std::all_of(s.begin(), s.end(), [](char c) {
    const auto u = static_cast<unsigned char>(c);
    return u == 0x21 || (u >= 0x23 && u <= 0x5b) || (u >= 0x5d && u <= 0x7e);
  });
}

}  // namespace

void reject_unknown_fields(const nlohmann::json& obj, const std::set<std::string>& known, const std::string& prefix) {
  for (const auto& [k, v] : obj.items()) {
    if (known.count(k)) continue;
    // The name is quoted back cut short (a body may hold a megabyte-long key) and without control
    // characters (a "\u0000" in a key would reach the message).
    constexpr std::size_t kQuoted = 64;
    std::string name = k.size() > kQuoted ? k.substr(0, kQuoted) + "..." : k;
    std::replace_if(
        name.begin(), name.end(), [](char c) { return has_control_chars(std::string(1, c)); }, '?');
    throw bad_field(prefix + name, "unknown field");
  }
}

bool valid_app_name(const std::string& name) {
  static const std::regex re("[a-z0-9][a-z0-9_-]{0,62}");
  return std::regex_match(name, re);
}

ApiError bad_field(const std::string& field, const std::string& why) {
  return ApiError(400, "invalid_field", field + ": " + why);
}

bool is_http_url(const std::string& s) { return s.rfind("http://", 0) == 0 || s.rfind("https://", 0) == 0; }

std::string get_string(const nlohmann::json& obj, const std::string& field, bool required, std::size_t max_len) {
  auto it = obj.find(field);
  if (it == obj.end() || it->is_null()) {
    if (required) throw bad_field(field, "is required");
    return {};
  }
  if (!it->is_string()) throw bad_field(field, "must be a string");
  auto v = it->get<std::string>();
  if (required && v.empty()) throw bad_field(field, "must not be empty");
  if (v.size() > max_len) throw bad_field(field, "is longer than " + std::to_string(max_len) + " characters");
  if (has_control_chars(v)) throw bad_field(field, "must not contain control characters");
  return v;
}

std::string get_url(const nlohmann::json& obj, const std::string& field, const std::string& label, bool required) {
  auto v = get_string(obj, field, required);
  if (!v.empty() && !is_http_url(v)) throw bad_field(label, "must be an http:// or https:// URL");
  return v;
}

std::vector<std::string> get_scopes(const nlohmann::json& obj, const std::string& field) {
  std::vector<std::string> scopes;
  auto it = obj.find(field);
  if (it == obj.end() || it->is_null()) return scopes;
  if (!it->is_array()) throw bad_field(field, "must be an array of strings");
  if (it->size() > kMaxScopes) throw bad_field(field, "at most " + std::to_string(kMaxScopes) + " scopes");
  for (const auto& s : *it) {
    if (!s.is_string() || s.get<std::string>().empty()) throw bad_field(field, "must be an array of non-empty strings");
    const auto& scope = s.get_ref<const std::string&>();
    if (scope.find_first_of(" \t\r\n") != std::string::npos) throw bad_field(field, "a scope may not contain spaces");
    if (!valid_scope(scope)) {
      throw bad_field(field, "a scope is at most " + std::to_string(kMaxScopeLength) +
                                 " printable ASCII characters other than '\"' and '\\' (RFC 6749 §3.3)");
    }
    scopes.push_back(scope);
  }
  return scopes;
}

App app_from_request(const nlohmann::json& body, const std::vector<std::string>& platforms,
                     const std::string& callback_base) {
  if (!body.is_object()) throw ApiError(400, "invalid_json", "the body must be a JSON object");
  static const std::set<std::string> known = {
      "name",   "platform",  "client_id",         "client_secret", "scopes", "client_credentials",
      "issuer", "endpoints", "token_auth_method", "redirect_uri",  "options"};
  reject_unknown_fields(body, known, "");
  App app;
  app.name = get_string(body, "name", true, 63);
  if (!valid_app_name(app.name)) throw bad_field("name", "must match [a-z0-9][a-z0-9_-]{0,62}");
  app.platform = get_string(body, "platform", true, 32);
  if (std::find(platforms.begin(), platforms.end(), app.platform) == platforms.end()) {
    std::string list;
    for (const auto& p : platforms) list += (list.empty() ? "" : ", ") + p;
    throw ApiError(400, "unknown_platform", "platform '" + app.platform + "' is not supported (known: " + list + ")");
  }
  app.client_id = get_string(body, "client_id", false, 512);
  app.client_secret = get_string(body, "client_secret", false, 4096);
  app.scopes = get_scopes(body, "scopes");
  if (auto it = body.find("client_credentials"); it != body.end() && !it->is_null()) {
    if (!it->is_boolean()) throw bad_field("client_credentials", "must be true or false");
    app.client_credentials = it->get<bool>();
  }
  app.token_auth_method = get_string(body, "token_auth_method", false, 32);
  if (app.token_auth_method.empty()) app.token_auth_method = "client_secret_post";
  if (app.token_auth_method != "client_secret_post" && app.token_auth_method != "client_secret_basic") {
    throw bad_field("token_auth_method", "must be client_secret_post or client_secret_basic");
  }
  app.redirect_uri = get_url(body, "redirect_uri", "redirect_uri", false);
  // The app's own callback path: a platform redirects a code for this app to this app only.
  if (app.redirect_uri.empty()) app.redirect_uri = app_callback_url(callback_base, app.name);
  if (auto it = body.find("options"); it != body.end() && !it->is_null()) {
    if (!it->is_object()) throw bad_field("options", "must be an object");
    app.options = *it;
  }
  app.issuer = get_url(body, "issuer", "issuer", false);
  if (auto it = body.find("endpoints"); it != body.end() && !it->is_null()) {
    if (!it->is_object()) throw bad_field("endpoints", "must be an object");
    reject_unknown_fields(*it, {"authorize_url", "token_url", "revocation_url"}, "endpoints.");
    app.endpoints.authorize_url = get_url(*it, "authorize_url", "endpoints.authorize_url", false);
    app.endpoints.token_url = get_url(*it, "token_url", "endpoints.token_url", false);
    app.endpoints.revocation_url = get_url(*it, "revocation_url", "endpoints.revocation_url", false);
  }
  if (body.contains("issuer") && body.contains("endpoints")) {
    throw bad_field("issuer", "give either issuer (discovery) or endpoints, not both");
  }
  return app;
}

std::string rejected_token_from_request(const nlohmann::json& body) {
  if (!body.is_object()) throw ApiError(400, "invalid_json", "the body must be a JSON object");
  reject_unknown_fields(body, {"access_token"}, "");
  auto it = body.find("access_token");
  if (it == body.end() || !it->is_string() || it->get_ref<const std::string&>().empty()) {
    throw bad_field("access_token", "is required (the token the platform refused)");
  }
  // No length or character message that could quote the token: the limits are stated only.
  const auto& token = it->get_ref<const std::string&>();
  if (token.size() > kMaxReportedTokenLength || has_control_chars(token)) {
    throw bad_field("access_token", "must be at most " + std::to_string(kMaxReportedTokenLength) +
                                        " characters without control characters");
  }
  return token;
}

}  // namespace mediax
