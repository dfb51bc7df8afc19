#include "util/host_port.hpp"

#include <charconv>

namespace mediax::util {

namespace {

std::optional<int> parse_port(std::string_view p) {
  if (p.empty() || p.size() > 5 || p.find_first_not_of("0123456789") != std::string_view::npos) return std::nullopt;
  int port = 0;
  std::from_chars(p.data(), p.data() + p.size(), port);
  if (port > 65535) return std::nullopt;
  return port;
}

}  // namespace

std::optional<HostPort> parse_host_port(std::string_view text) {
  HostPort out;
  std::string_view host = text;
  std::optional<std::string_view> port;
  if (!text.empty() && text.front() == '[') {
    const auto close = text.find(']');
    if (close == std::string_view::npos || close == 1) return std::nullopt;
    host = text.substr(1, close - 1);
    if (host.find_first_not_of("0123456789abcdefABCDEF:.%") != std::string_view::npos) return std::nullopt;
    const auto rest = text.substr(close + 1);
    if (!rest.empty()) {
      if (rest.front() != ':') return std::nullopt;
      port = rest.substr(1);
    }
  } else {
    const auto colon = text.rfind(':');
    if (colon != std::string_view::npos) {
      host = text.substr(0, colon);
      port = text.substr(colon + 1);
    }
    if (host.empty() || host.find_first_not_of("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789.-_") !=
                            std::string_view::npos) {
      return std::nullopt;
    }
  }
  out.host = std::string(host);
  if (port) {
    out.port = parse_port(*port);
    if (!out.port) return std::nullopt;
  }
  return out;
}

std::string format_host_port(std::string_view host, int port) {
  const bool ipv6 = host.find(':') != std::string_view::npos;
  std::string out;
  if (ipv6) out += '[';
  out += host;
  if (ipv6) out += ']';
  out += ':';
  out += std::to_string(port);
  return out;
}

}  // namespace mediax::util
