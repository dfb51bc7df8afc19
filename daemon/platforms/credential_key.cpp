#include "platforms/credential_key.hpp"

#include <algorithm>
#include <cctype>

#include "platforms/specs.hpp"
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
  for (const spec::Spec* s : specs::all()) {
    if (s->name != app.platform) continue;
    // The daemon's base URLs are the same for every app of the database; an app's own one (Douyin's
    // sandbox) is another credential unless it names the daemon's.
    for (const auto& base : s->base_urls) {
      const std::string key(base.key);
      const auto own = normalized_base_url(string_option(app, key.c_str()));
      const auto daemon = normalized_base_url(configured_url(settings, app.platform, key, std::string(base.fallback)));
      if (!own.empty() && own != daemon) return own;
    }
    return "-";
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
