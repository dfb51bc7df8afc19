#include "core/secret_binding.hpp"

#include <map>

#include "util/host_port.hpp"
#include "util/strings.hpp"
#include "util/url.hpp"

namespace mediax {

namespace {

// scheme://host[:port]; a URL that does not parse binds as written (lower case), so it still changes
// the binding when it changes.
std::string origin_of(const std::string& url) {
  const auto p = parse_url(url);
  if (!p) return util::to_lower(url);
  const bool default_port = (p->scheme == "https" && p->port == 443) || (p->scheme == "http" && p->port == 80);
  const std::string host = util::to_lower(p->host);  // host names are case-insensitive
  return p->scheme + "://" +
         (default_port ? (host.find(':') != std::string::npos ? "[" + host + "]" : host)
                       : util::format_host_port(host, p->port));
}

std::string option_url(const App& app, const char* name) {
  if (!app.options.is_object()) return "";
  const auto it = app.options.find(name);
  return it != app.options.end() && it->is_string() ? it->get<std::string>() : std::string();
}

// "oauth2 token=https://a revocation=none" -> {platform: oauth2, token: https://a, revocation: none}
std::map<std::string, std::string> parts_of(const std::string& binding) {
  std::map<std::string, std::string> out;
  bool first = true;
  for (const auto& piece : util::split(binding, " ")) {
    const auto eq = piece.find('=');
    if (first && eq == std::string::npos) {
      out["platform"] = piece;
    } else if (eq != std::string::npos) {
      out[piece.substr(0, eq)] = piece.substr(eq + 1);
    }
    first = false;
  }
  return out;
}

}  // namespace

std::string secret_binding(const App& app) {
  std::string token = "config";
  if (!app.endpoints.token_url.empty()) {
    token = origin_of(app.endpoints.token_url);
  } else if (const auto base = option_url(app, "base_url"); !base.empty()) {
    token = origin_of(base);
  }
  const std::string revocation =
      app.endpoints.revocation_url.empty() ? std::string("none") : origin_of(app.endpoints.revocation_url);
  return app.platform + " token=" + token + " revocation=" + revocation;
}

std::string describe_binding_change(const std::string& sealed_for, const std::string& now) {
  if (sealed_for == now) return "";
  const auto was = parts_of(sealed_for);
  const auto is = parts_of(now);
  const auto get = [](const std::map<std::string, std::string>& m, const char* k) {
    const auto it = m.find(k);
    return it == m.end() ? std::string("?") : it->second;
  };
  std::string out;
  for (const auto& [key, what] : {std::pair{"token", "token endpoint"}, std::pair{"revocation", "revocation endpoint"},
                                  std::pair{"platform", "platform"}}) {
    if (get(was, key) == get(is, key)) continue;
    if (!out.empty()) out += "; ";
    out += std::string(what) + " changed since the secret was sealed (sealed for " + get(was, key) + ", now " +
           get(is, key) + ")";
  }
  return out.empty() ? "the endpoints changed since the secret was sealed" : out;
}

}  // namespace mediax
