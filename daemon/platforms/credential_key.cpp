#include "platforms/credential_key.hpp"

#include <algorithm>
#include <cctype>

#include "platforms/douyin_platform.hpp"
#include "platforms/platform_util.hpp"
#include "util/strings.hpp"

namespace mediax {

std::string normalized_base_url(const std::string& url) {
  std::string u = url;
  while (!u.empty() && u.back() == '/') u.pop_back();
  const auto scheme_end = u.find("://");
  if (scheme_end == std::string::npos) return u;
  const auto host_end = std::min(u.find_first_of("/?#", scheme_end + 3), u.size());
  return util::to_lower(std::string_view(u).substr(0, host_end)) + u.substr(host_end);
}

namespace {

using platform_util::configured_url;

std::string string_option(const App& app, const char* name) {
  if (!app.options.is_object()) return "";
  auto it = app.options.find(name);
  return it != app.options.end() && it->is_string() ? it->get<std::string>() : std::string();
}

std::string where_of(const App& app, const PlatformSettings& settings) {
  if (app.platform == "douyin") {
    // The daemon's base URL is the same for every app of the database; an app's own one (the
    // sandbox) is another credential unless it names the daemon's.
    const auto own = normalized_base_url(string_option(app, "base_url"));
    const auto daemon = normalized_base_url(configured_url(settings, "douyin", "base_url", douyin::kDefaultBaseUrl));
    return own.empty() || own == daemon ? "-" : own;
  }
  if (app.platform == "wechat" || app.platform == "wechat_component") return "-";
  if (app.platform == "google") {
    // A service account's token for an impersonated user is that user's, not the account's.
    const auto subject = string_option(app, "subject");
    return subject.empty() ? "-" : "sub=" + subject;
  }
  const auto token_url = normalized_base_url(app.endpoints.token_url);
  return token_url.empty() ? "-" : token_url;
}

}  // namespace

std::string credential_key(const App& app, const PlatformSettings& settings) {
  if (!app.client_credentials) return "";
  return app.platform + " " + where_of(app, settings) + " " + app.client_id;
}

}  // namespace mediax
