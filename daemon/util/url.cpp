#include "util/url.hpp"

#include <cctype>
#include <charconv>
#include <string_view>

#include "util/strings.hpp"

namespace mediax {

namespace {

int hex_value(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

// application/x-www-form-urlencoded decoding: '+' is a space, %XX a byte; a broken escape stays as it is.
std::string form_decode(std::string_view s) {
  std::string out;
  out.reserve(s.size());
  for (std::size_t i = 0; i < s.size(); ++i) {
    char c = s[i];
    if (c == '+') {
      out += ' ';
    } else if (c == '%' && i + 2 < s.size() && hex_value(s[i + 1]) >= 0 && hex_value(s[i + 2]) >= 0) {
      out += static_cast<char>(hex_value(s[i + 1]) * 16 + hex_value(s[i + 2]));
      i += 2;
    } else {
      out += c;
    }
  }
  return out;
}

bool valid_host_char(char c) {
  auto u = static_cast<unsigned char>(c);
  return std::isalnum(u) || c == '-' || c == '.' || c == '_' || c == '~' || c == '%';
}

}  // namespace

std::optional<ParsedUrl> parse_url(const std::string& url) {
  auto sep = url.find("://");
  if (sep == std::string::npos) return std::nullopt;
  ParsedUrl out;
  out.scheme = util::to_lower(url.substr(0, sep));
  if (out.scheme == "https") {
    out.port = 443;
  } else if (out.scheme == "http") {
    out.port = 80;
  } else {
    return std::nullopt;
  }
  std::size_t auth_begin = sep + 3;
  std::size_t auth_end = url.find_first_of("/?#", auth_begin);
  if (auth_end == std::string::npos) auth_end = url.size();
  std::string authority = url.substr(auth_begin, auth_end - auth_begin);
  if (authority.empty() || authority.find('@') != std::string::npos) return std::nullopt;

  std::string port_text;
  if (authority.front() == '[') {
    auto close = authority.find(']');
    if (close == std::string::npos || close == 1) return std::nullopt;
    out.host = authority.substr(1, close - 1);
    for (char c : out.host) {
      if (!std::isxdigit(static_cast<unsigned char>(c)) && c != ':' && c != '.') return std::nullopt;
    }
    std::string rest = authority.substr(close + 1);
    if (!rest.empty()) {
      if (rest.front() != ':') return std::nullopt;
      port_text = rest.substr(1);
      if (port_text.empty()) return std::nullopt;
    }
  } else {
    auto colon = authority.find(':');
    out.host = authority.substr(0, colon);
    if (colon != std::string::npos) {
      port_text = authority.substr(colon + 1);
      if (port_text.empty()) return std::nullopt;
    }
    if (out.host.empty()) return std::nullopt;
    for (char c : out.host) {
      if (!valid_host_char(c)) return std::nullopt;
    }
  }
  if (!port_text.empty()) {
    int port = 0;
    auto [p, ec] = std::from_chars(port_text.data(), port_text.data() + port_text.size(), port);
    if (ec != std::errc() || p != port_text.data() + port_text.size() || port < 1 || port > 65535) {
      return std::nullopt;
    }
    out.port = port;
  }

  std::string target = url.substr(auth_end);
  auto hash = target.find('#');
  if (hash != std::string::npos) target.resize(hash);
  for (char c : target) {
    auto u = static_cast<unsigned char>(c);
    if (u <= 0x20 || u == 0x7F) return std::nullopt;  // would break the request line
  }
  if (target.empty() || target.front() == '?') target = "/" + target;
  out.target = std::move(target);
  return out;
}

std::string percent_encode(const std::string& s, bool (*keep)(unsigned char)) {
  static constexpr char kHex[] = "0123456789ABCDEF";
  std::string out;
  out.reserve(s.size());
  for (char c : s) {
    const auto u = static_cast<unsigned char>(c);
    if (keep(u)) {
      out += c;
    } else {
      out += '%';
      out += kHex[u >> 4];
      out += kHex[u & 15];
    }
  }
  return out;
}

std::string url_encode(const std::string& s) {
  return percent_encode(s, [](unsigned char u) {
    return std::isalnum(u) != 0 || u == '-' || u == '.' || u == '_' || u == '~';  // RFC 3986 unreserved
  });
}

std::string form_encode(const std::vector<std::pair<std::string, std::string>>& fields) {
  std::string out;
  for (const auto& [k, v] : fields) {
    if (!out.empty()) out += '&';
    out += url_encode(k);
    out += '=';
    out += url_encode(v);
  }
  return out;
}

std::vector<std::pair<std::string, std::string>> parse_query(const std::string& query) {
  std::vector<std::pair<std::string, std::string>> out;
  std::string_view q = query;
  if (!q.empty() && q.front() == '?') q.remove_prefix(1);
  while (!q.empty()) {
    auto amp = q.find('&');
    std::string_view part = q.substr(0, amp);
    q = amp == std::string_view::npos ? std::string_view{} : q.substr(amp + 1);
    if (part.empty()) continue;
    auto eq = part.find('=');
    if (eq == std::string_view::npos) {
      out.emplace_back(form_decode(part), "");
    } else {
      out.emplace_back(form_decode(part.substr(0, eq)), form_decode(part.substr(eq + 1)));
    }
  }
  return out;
}

std::string redact_url(const std::string& url) {
  std::string out = url.substr(0, url.find_first_of("?#"));
  auto sep = out.find("://");
  std::size_t auth_begin = sep == std::string::npos ? 0 : sep + 3;
  std::size_t auth_end = out.find('/', auth_begin);
  if (auth_end == std::string::npos) auth_end = out.size();
  auto at = out.rfind('@', auth_end);
  if (at != std::string::npos && at >= auth_begin) out.erase(auth_begin, at + 1 - auth_begin);
  return out;
}

}  // namespace mediax
