// IP addresses and networks as values: parsed from text (the config's CIDRs, literal hosts),
// written back as text, and classified (loopback, private, link-local, ...) by one table. What
// the outbound check (net/outbound_guard.hpp) and the config check share. Pure.
#pragma once

#include <array>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace mediax::util {

struct IpAddress {
  enum class Family : std::uint8_t { v4, v6 };
  Family family = Family::v4;
  std::array<std::uint8_t, 16> bytes{};  // network order; IPv4 uses the first 4

  bool is_v4() const { return family == Family::v4; }
  int bit_length() const { return is_v4() ? 32 : 128; }
  friend bool operator==(const IpAddress&, const IpAddress&) = default;
};

// "192.0.2.1" (four decimal parts, no leading zeros) or an IPv6 text form (RFC 4291 2.2, with an
// embedded dotted quad allowed at the end); no brackets, no zone ("%eth0"). nullopt otherwise.
std::optional<IpAddress> parse_ip(std::string_view text);
// IPv4 dotted; IPv6 as RFC 5952 recommends ("2001:db8::1", "::ffff:192.0.2.1").
std::string to_string(const IpAddress& a);
// The IPv4 address an IPv4-mapped IPv6 address (::ffff:a.b.c.d) stands for; the address itself
// otherwise. The socket reaches the same host either way, so checks look at this.
IpAddress unmapped(const IpAddress& a);

struct IpNetwork {
  IpAddress base;  // its bits past prefix_length are zero
  int prefix_length = 0;

  bool contains(const IpAddress& a) const;  // same family only
  friend bool operator==(const IpNetwork&, const IpNetwork&) = default;
};
// "10.0.0.0/8", "fd00::/8", or one address ("127.0.0.1" = /32, "::1" = /128). On failure nullopt
// and `problem` says why (the text is the admin's own config, so it may be quoted).
std::optional<IpNetwork> parse_network(std::string_view text, std::string& problem);
std::string to_string(const IpNetwork& n);

// What kind of destination an address is. Only `global` is on the public internet.
enum class AddressScope : std::uint8_t {
  global,
  unspecified,   // 0.0.0.0, ::
  this_network,  // 0.0.0.0/8
  loopback,      // 127.0.0.0/8, ::1
  private_use,   // 10/8, 172.16/12, 192.168/16, 64:ff9b:1::/48
  shared,        // 100.64.0.0/10 (carrier-grade NAT)
  link_local,    // 169.254.0.0/16 (cloud metadata lives here), fe80::/10
  unique_local,  // fc00::/7
  site_local,    // fec0::/10 (deprecated)
  multicast,     // 224.0.0.0/4, ff00::/8
  broadcast,     // 255.255.255.255
  documentation, // 192.0.2/24, 198.51.100/24, 203.0.113/24, 2001:db8::/32, 3fff::/20
  benchmarking,  // 198.18.0.0/15, 2001:2::/48
  reserved,      // the rest of the IANA special-purpose ranges, IPv6 outside 2000::/3
};
std::string to_string(AddressScope s);  // "link-local", "private", ...

struct AddressClass {
  AddressScope scope = AddressScope::global;
  // The range that decided, for messages: "169.254.0.0/16"; for an IPv4 address inside IPv6
  // (IPv4-mapped, NAT64, 6to4) the IPv6 range and the IPv4 one: "64:ff9b::/96 of 10.0.0.0/8".
  // Empty for global.
  std::string range;
};
// The one classification of addresses (IANA special-purpose address registries, RFC 6890).
// An IPv4 address embedded in IPv4-mapped (::ffff:0:0/96), NAT64 (64:ff9b::/96) or 6to4
// (2002::/16) IPv6 is classified as that IPv4 address: they reach it.
AddressClass classify_address(const IpAddress& a);

}  // namespace mediax::util
