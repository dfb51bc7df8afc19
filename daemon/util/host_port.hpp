// host[:port] as written in listen addresses (admin.listen, admin.token_listen) and in the authority of
// configured URLs: one parser and one formatter for the config check, the listeners and the log lines.
#pragma once

#include <optional>
#include <string>
#include <string_view>

namespace mediax::util {

struct HostPort {
  std::string host;         // a name, an IPv4 address, or an IPv6 literal (without its brackets)
  std::optional<int> port;  // 0..65535; absent when the text has no ":port"
};

// nullopt unless host is a name or IPv4 address ([A-Za-z0-9._-]) or a bracketed IPv6 literal and the
// port, when given, is 1-5 digits up to 65535.
std::optional<HostPort> parse_host_port(std::string_view text);

// "host:port", an IPv6 literal in brackets ("[::1]:8080").
std::string format_host_port(std::string_view host, int port);

}  // namespace mediax::util
