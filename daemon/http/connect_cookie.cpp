#include "http/connect_cookie.hpp"

#include "service/connect_checks.hpp"

namespace mediax {

namespace {

std::string_view trim(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t')) s.remove_suffix(1);
  return s;
}

constexpr const char* kAttributes = "; Path=/; Secure; HttpOnly; SameSite=Lax";

}  // namespace

std::optional<std::string> cookie_value(std::string_view header, std::string_view name) {
  while (!header.empty()) {
    const auto semi = header.find(';');
    const std::string_view pair = trim(header.substr(0, semi));
    const auto eq = pair.find('=');
    if (eq != std::string_view::npos && trim(pair.substr(0, eq)) == name) {
      std::string_view v = trim(pair.substr(eq + 1));
      if (v.size() >= 2 && v.front() == '"' && v.back() == '"') v = v.substr(1, v.size() - 2);  // RFC 6265 quoted
      return std::string(v);
    }
    if (semi == std::string_view::npos) break;
    header.remove_prefix(semi + 1);
  }
  return std::nullopt;
}

std::string set_connect_cookie(const std::string& value, std::chrono::seconds max_age) {
  return std::string(kConnectCookie) + "=" + value + kAttributes + "; Max-Age=" + std::to_string(max_age.count());
}

std::string clear_connect_cookie() { return std::string(kConnectCookie) + "=" + kAttributes + "; Max-Age=0"; }

}  // namespace mediax
