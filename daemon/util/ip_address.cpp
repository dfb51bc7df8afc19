#include "util/ip_address.hpp"

#include <cstdio>
#include <initializer_list>
#include <vector>

namespace mediax::util {

namespace {

bool is_digit(char c) { return c >= '0' && c <= '9'; }

int hex_value(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

// Four decimal parts 0..255 without leading zeros: "010.1.1.1" is octal to inet_aton and decimal
// to others, so it is refused rather than guessed.
std::optional<std::array<std::uint8_t, 4>> parse_quad(std::string_view s) {
  std::array<std::uint8_t, 4> out{};
  std::size_t i = 0;
  for (int part = 0; part < 4; ++part) {
    if (part > 0) {
      if (i >= s.size() || s[i] != '.') return std::nullopt;
      ++i;
    }
    const std::size_t start = i;
    unsigned v = 0;
    while (i < s.size() && is_digit(s[i]) && i - start < 3) v = v * 10 + static_cast<unsigned>(s[i++] - '0');
    if (i == start || v > 255 || (i - start > 1 && s[start] == '0')) return std::nullopt;
    out[static_cast<std::size_t>(part)] = static_cast<std::uint8_t>(v);
  }
  if (i != s.size()) return std::nullopt;
  return out;
}

// The 16-bit groups of one side of "::" ("" = none); the last group may be a dotted quad when
// `quad_allowed` (it is the address's end). nullopt when malformed.
std::optional<std::vector<std::uint16_t>> parse_groups(std::string_view s, bool quad_allowed) {
  std::vector<std::uint16_t> out;
  if (s.empty()) return out;
  std::size_t start = 0;
  while (true) {
    const std::size_t colon = s.find(':', start);
    const std::string_view g = s.substr(start, colon == std::string_view::npos ? std::string_view::npos : colon - start);
    const bool last = colon == std::string_view::npos;
    if (last && quad_allowed && g.find('.') != std::string_view::npos) {
      auto quad = parse_quad(g);
      if (!quad) return std::nullopt;
      out.push_back(static_cast<std::uint16_t>((*quad)[0] << 8 | (*quad)[1]));
      out.push_back(static_cast<std::uint16_t>((*quad)[2] << 8 | (*quad)[3]));
      return out;
    }
    if (g.empty() || g.size() > 4) return std::nullopt;
    unsigned v = 0;
    for (char c : g) {
      const int h = hex_value(c);
      if (h < 0) return std::nullopt;
      v = v << 4 | static_cast<unsigned>(h);
    }
    out.push_back(static_cast<std::uint16_t>(v));
    if (last) return out;
    start = colon + 1;
  }
}

std::optional<IpAddress> parse_v6(std::string_view s) {
  const std::size_t gap = s.find("::");
  std::optional<std::vector<std::uint16_t>> head, tail;
  if (gap == std::string_view::npos) {
    head = parse_groups(s, true);
    tail = std::vector<std::uint16_t>{};
    if (!head || head->size() != 8) return std::nullopt;
  } else {
    if (s.find("::", gap + 1) != std::string_view::npos) return std::nullopt;  // one "::" at most
    head = parse_groups(s.substr(0, gap), false);
    tail = parse_groups(s.substr(gap + 2), true);
    if (!head || !tail || head->size() + tail->size() > 7) return std::nullopt;
  }
  IpAddress a;
  a.family = IpAddress::Family::v6;
  auto put = [&a](std::size_t index, std::uint16_t g) {
    a.bytes[index * 2] = static_cast<std::uint8_t>(g >> 8);
    a.bytes[index * 2 + 1] = static_cast<std::uint8_t>(g & 0xff);
  };
  for (std::size_t i = 0; i < head->size(); ++i) put(i, (*head)[i]);
  for (std::size_t i = 0; i < tail->size(); ++i) put(8 - tail->size() + i, (*tail)[i]);
  return a;
}

IpAddress v4(std::uint8_t a, std::uint8_t b, std::uint8_t c, std::uint8_t d) {
  IpAddress out;
  out.bytes[0] = a;
  out.bytes[1] = b;
  out.bytes[2] = c;
  out.bytes[3] = d;
  return out;
}

bool has_prefix(const IpAddress& a, std::initializer_list<std::uint8_t> prefix) {
  std::size_t i = 0;
  for (auto b : prefix) {
    if (a.bytes[i++] != b) return false;
  }
  return true;
}

struct Range {
  IpNetwork network;
  AddressScope scope;
};

IpNetwork net(std::string_view text) {
  std::string problem;
  return *parse_network(text, problem);  // the tables below are literals known to parse
}

// Most specific first: the first range containing an address decides.
const std::vector<Range>& v4_ranges() {
  static const std::vector<Range> t = {
      {net("0.0.0.0/32"), AddressScope::unspecified},
      {net("0.0.0.0/8"), AddressScope::this_network},
      {net("10.0.0.0/8"), AddressScope::private_use},
      {net("100.64.0.0/10"), AddressScope::shared},
      {net("127.0.0.0/8"), AddressScope::loopback},
      {net("169.254.0.0/16"), AddressScope::link_local},
      {net("172.16.0.0/12"), AddressScope::private_use},
      {net("192.0.0.0/24"), AddressScope::reserved},  // IETF protocol assignments
      {net("192.0.2.0/24"), AddressScope::documentation},
      {net("192.88.99.0/24"), AddressScope::reserved},  // 6to4 relay anycast (deprecated)
      {net("192.168.0.0/16"), AddressScope::private_use},
      {net("198.18.0.0/15"), AddressScope::benchmarking},
      {net("198.51.100.0/24"), AddressScope::documentation},
      {net("203.0.113.0/24"), AddressScope::documentation},
      {net("224.0.0.0/4"), AddressScope::multicast},
      {net("255.255.255.255/32"), AddressScope::broadcast},
      {net("240.0.0.0/4"), AddressScope::reserved},
  };
  return t;
}

const std::vector<Range>& v6_ranges() {
  static const std::vector<Range> t = {
      {net("::/128"), AddressScope::unspecified},
      {net("::1/128"), AddressScope::loopback},
      {net("64:ff9b:1::/48"), AddressScope::private_use},  // local-use IPv4/IPv6 translation
      {net("100::/64"), AddressScope::reserved},           // discard-only
      {net("2001:db8::/32"), AddressScope::documentation},
      {net("2001:2::/48"), AddressScope::benchmarking},
      {net("2001::/23"), AddressScope::reserved},  // IETF protocol assignments (Teredo, ORCHID...)
      {net("3fff::/20"), AddressScope::documentation},
      {net("fc00::/7"), AddressScope::unique_local},
      {net("fe80::/10"), AddressScope::link_local},
      {net("fec0::/10"), AddressScope::site_local},
      {net("ff00::/8"), AddressScope::multicast},
  };
  return t;
}

AddressClass classify_v4(const IpAddress& a) {
  for (const auto& r : v4_ranges()) {
    if (r.network.contains(a)) return {r.scope, to_string(r.network)};
  }
  return {};
}

// IPv4 inside IPv6 that reaches that IPv4 address: (range, offset of the 4 bytes).
struct Embedding {
  IpNetwork network;
  std::size_t offset;
};
const std::vector<Embedding>& embeddings() {
  static const std::vector<Embedding> t = {
      {net("::ffff:0:0/96"), 12},  // IPv4-mapped
      {net("64:ff9b::/96"), 12},   // NAT64 well-known prefix
      {net("2002::/16"), 2},       // 6to4
  };
  return t;
}

}  // namespace

std::optional<IpAddress> parse_ip(std::string_view text) {
  if (text.find(':') != std::string_view::npos) return parse_v6(text);
  auto quad = parse_quad(text);
  if (!quad) return std::nullopt;
  return v4((*quad)[0], (*quad)[1], (*quad)[2], (*quad)[3]);
}

std::string to_string(const IpAddress& a) {
  char buf[64];
  if (a.is_v4()) {
    std::snprintf(buf, sizeof buf, "%u.%u.%u.%u", a.bytes[0], a.bytes[1], a.bytes[2], a.bytes[3]);
    return buf;
  }
  if (has_prefix(a, {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff})) {
    std::snprintf(buf, sizeof buf, "::ffff:%u.%u.%u.%u", a.bytes[12], a.bytes[13], a.bytes[14], a.bytes[15]);
    return buf;
  }
  std::array<unsigned, 8> g{};
  for (std::size_t i = 0; i < 8; ++i) g[i] = static_cast<unsigned>(a.bytes[2 * i] << 8 | a.bytes[2 * i + 1]);
  // The longest run of two or more zero groups becomes "::" (the first of equal runs).
  std::size_t best = 8, best_len = 0;
  for (std::size_t i = 0; i < 8;) {
    if (g[i] != 0) {
      ++i;
      continue;
    }
    std::size_t j = i;
    while (j < 8 && g[j] == 0) ++j;
    if (j - i > best_len && j - i >= 2) {
      best = i;
      best_len = j - i;
    }
    i = j;
  }
  std::string out;
  for (std::size_t i = 0; i < 8; ++i) {
    if (i == best) {
      out += "::";
      i += best_len - 1;
      continue;
    }
    if (!out.empty() && out.back() != ':') out += ':';
    std::snprintf(buf, sizeof buf, "%x", g[i]);
    out += buf;
  }
  return out;
}

IpAddress unmapped(const IpAddress& a) {
  if (!a.is_v4() && has_prefix(a, {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff})) {
    return v4(a.bytes[12], a.bytes[13], a.bytes[14], a.bytes[15]);
  }
  return a;
}

bool IpNetwork::contains(const IpAddress& a) const {
  if (a.family != base.family) return false;
  const int full = prefix_length / 8;
  for (int i = 0; i < full; ++i) {
    if (a.bytes[static_cast<std::size_t>(i)] != base.bytes[static_cast<std::size_t>(i)]) return false;
  }
  const int rest = prefix_length % 8;
  if (rest == 0) return true;
  const auto mask = static_cast<std::uint8_t>(0xff << (8 - rest));
  return (a.bytes[static_cast<std::size_t>(full)] & mask) == base.bytes[static_cast<std::size_t>(full)];
}

std::optional<IpNetwork> parse_network(std::string_view text, std::string& problem) {
  const std::size_t slash = text.find('/');
  const auto address = parse_ip(text.substr(0, slash));
  if (!address) {
    problem = "\"" + std::string(text.substr(0, 64)) + "\" is not an IPv4 or IPv6 network (e.g. \"10.0.0.0/8\", \"fd00::/8\")";
    return std::nullopt;
  }
  IpNetwork n{*address, address->bit_length()};
  if (slash != std::string_view::npos) {
    const auto digits = text.substr(slash + 1);
    int len = 0;
    bool ok = !digits.empty() && digits.size() <= 3 && (digits.size() == 1 || digits[0] != '0');
    for (char c : digits) {
      if (!is_digit(c)) ok = false;
      if (ok) len = len * 10 + (c - '0');
    }
    if (!ok || len > address->bit_length()) {
      problem = "\"" + std::string(text.substr(0, 64)) + "\": the prefix length must be 0.." +
                std::to_string(address->bit_length());
      return std::nullopt;
    }
    n.prefix_length = len;
  }
  IpNetwork masked = n;
  for (std::size_t i = 0; i < masked.base.bytes.size(); ++i) {
    const int bit = static_cast<int>(i) * 8;
    if (bit >= n.prefix_length) {
      masked.base.bytes[i] = 0;
    } else if (bit + 8 > n.prefix_length) {
      masked.base.bytes[i] &= static_cast<std::uint8_t>(0xff << (8 - (n.prefix_length - bit)));
    }
  }
  if (masked.base != n.base) {
    // A typo as often as not ("10.0.0.1/8"): say what it would mean rather than guess.
    problem = "\"" + std::string(text.substr(0, 64)) + "\" has bits set past its prefix; the network is " +
              to_string(masked);
    return std::nullopt;
  }
  return n;
}

std::string to_string(const IpNetwork& n) { return to_string(n.base) + "/" + std::to_string(n.prefix_length); }

std::string to_string(AddressScope s) {
  switch (s) {
    case AddressScope::global: return "public";
    case AddressScope::unspecified: return "unspecified";
    case AddressScope::this_network: return "\"this network\"";
    case AddressScope::loopback: return "loopback";
    case AddressScope::private_use: return "private";
    case AddressScope::shared: return "shared (carrier-grade NAT)";
    case AddressScope::link_local: return "link-local";
    case AddressScope::unique_local: return "unique-local";
    case AddressScope::site_local: return "site-local";
    case AddressScope::multicast: return "multicast";
    case AddressScope::broadcast: return "broadcast";
    case AddressScope::documentation: return "documentation";
    case AddressScope::benchmarking: return "benchmarking";
    case AddressScope::reserved: return "reserved";
  }
  return "reserved";
}

AddressClass classify_address(const IpAddress& a) {
  if (a.is_v4()) return classify_v4(a);
  for (const auto& e : embeddings()) {
    if (!e.network.contains(a)) continue;
    const auto inner = v4(a.bytes[e.offset], a.bytes[e.offset + 1], a.bytes[e.offset + 2], a.bytes[e.offset + 3]);
    AddressClass c = classify_v4(inner);
    if (c.scope != AddressScope::global) c.range = to_string(e.network) + " of " + c.range;
    return c;
  }
  for (const auto& r : v6_ranges()) {
    if (r.network.contains(a)) return {r.scope, to_string(r.network)};
  }
  // Only 2000::/3 is allocated for global unicast; the rest (IPv4-compatible ::/96 included) is not
  // a public destination.
  if ((a.bytes[0] & 0xe0) != 0x20) return {AddressScope::reserved, "outside 2000::/3"};
  return {};
}

}  // namespace mediax::util
