// util/ip_address: parsing and writing addresses, CIDR networks (security.allowed_private_networks)
// and the one classification table the outbound guard refuses by.
#include <gtest/gtest.h>

#include "util/ip_address.hpp"

namespace mediax::util {
namespace {

IpAddress ip(const std::string& text) {
  auto a = parse_ip(text);
  if (!a) throw std::runtime_error("test address does not parse: " + text);
  return *a;
}

TEST(UtilIpAddress, ParsesAndWritesBackIpv4AndIpv6) {
  const std::pair<const char*, const char*> cases[] = {
      {"127.0.0.1", "127.0.0.1"},
      {"0.0.0.0", "0.0.0.0"},
      {"255.255.255.255", "255.255.255.255"},
      {"::", "::"},
      {"::1", "::1"},
      {"2001:DB8:0:0:0:0:0:1", "2001:db8::1"},
      {"2001:db8:0:0:1:0:0:1", "2001:db8::1:0:0:1"},  // the first of two equal zero runs
      {"fe80::1:2", "fe80::1:2"},
      {"1:2:3:4:5:6:7:8", "1:2:3:4:5:6:7:8"},
      {"1:0:3:4:5:6:7:8", "1:0:3:4:5:6:7:8"},  // one zero group is not shortened
      {"::ffff:169.254.169.254", "::ffff:169.254.169.254"},
      {"::ffff:a9fe:a9fe", "::ffff:169.254.169.254"},
      {"64:ff9b::10.0.0.1", "64:ff9b::a00:1"},
      {"1:2:3:4:5:6:7::", "1:2:3:4:5:6:7:0"},
  };
  for (const auto& [in, out] : cases) {
    auto a = parse_ip(in);
    ASSERT_TRUE(a) << in;
    EXPECT_EQ(to_string(*a), out) << in;
    EXPECT_EQ(parse_ip(to_string(*a)), a) << in;
  }
}

TEST(UtilIpAddress, RefusesWhatIsNotOneAddress) {
  for (const char* bad : {"", "1.2.3", "1.2.3.4.5", "256.1.1.1", "01.2.3.4", "1.2.3.04", "0x7f.0.0.1", "2130706433",
                          "1.2.3.4 ", " 1.2.3.4", "1..2.3", "localhost", ":::", "1:::2", "1::2::3", ":1::", "1:2:3:4:5:6:7:8:9",
                          "1:2:3:4:5:6:7", "12345::", "g::1", "fe80::1%eth0", "[::1]", "1.2.3.4::", "::1.2.3",
                          "1:2:3:4:5:6:7::8"}) {
    EXPECT_FALSE(parse_ip(bad)) << bad;
  }
}

TEST(UtilIpAddress, UnmapsOnlyIpv4MappedAddresses) {
  EXPECT_EQ(unmapped(ip("::ffff:10.1.2.3")), ip("10.1.2.3"));
  EXPECT_EQ(unmapped(ip("64:ff9b::10.1.2.3")), ip("64:ff9b::10.1.2.3"));
  EXPECT_EQ(unmapped(ip("10.1.2.3")), ip("10.1.2.3"));
}

TEST(UtilIpNetwork, ParsesCidrsAndSingleAddresses) {
  std::string problem;
  auto n = parse_network("10.0.0.0/8", problem);
  ASSERT_TRUE(n) << problem;
  EXPECT_EQ(to_string(*n), "10.0.0.0/8");
  EXPECT_TRUE(n->contains(ip("10.255.1.2")));
  EXPECT_FALSE(n->contains(ip("11.0.0.1")));
  EXPECT_FALSE(n->contains(ip("::ffff:10.0.0.1")));  // families are not mixed here (the guard unmaps)

  auto odd = parse_network("172.16.0.0/12", problem);
  ASSERT_TRUE(odd);
  EXPECT_TRUE(odd->contains(ip("172.31.255.255")));
  EXPECT_FALSE(odd->contains(ip("172.32.0.0")));

  auto one = parse_network("127.0.0.1", problem);
  ASSERT_TRUE(one);
  EXPECT_EQ(to_string(*one), "127.0.0.1/32");
  EXPECT_FALSE(one->contains(ip("127.0.0.2")));

  auto v6 = parse_network("fd00:1234::/32", problem);
  ASSERT_TRUE(v6);
  EXPECT_TRUE(v6->contains(ip("fd00:1234:ffff::1")));
  EXPECT_FALSE(v6->contains(ip("fd00:1235::1")));
  EXPECT_FALSE(v6->contains(ip("10.0.0.1")));

  auto all = parse_network("0.0.0.0/0", problem);
  ASSERT_TRUE(all);
  EXPECT_TRUE(all->contains(ip("8.8.8.8")));
  EXPECT_EQ(to_string(*parse_network("::1", problem)), "::1/128");
}

TEST(UtilIpNetwork, RefusesBadNetworksSayingWhy) {
  const std::pair<const char*, const char*> cases[] = {
      {"10.0.0.1/8", "bits set past its prefix; the network is 10.0.0.0/8"},
      {"fd00::1/8", "the network is fd00::/8"},
      {"10.0.0.0/33", "prefix length must be 0..32"},
      {"::/129", "prefix length must be 0..128"},
      {"10.0.0.0/", "prefix length"},
      {"10.0.0.0/08", "prefix length"},
      {"10.0.0.0/-1", "prefix length"},
      {"10.0.0.0/8/8", "prefix length"},
      {"localhost", "is not an IPv4 or IPv6 network"},
      {"10.0.0/8", "is not an IPv4 or IPv6 network"},
      {"", "is not an IPv4 or IPv6 network"},
  };
  for (const auto& [text, why] : cases) {
    std::string problem;
    EXPECT_FALSE(parse_network(text, problem)) << text;
    EXPECT_NE(problem.find(why), std::string::npos) << text << ": " << problem;
  }
}

TEST(UtilAddressClass, ClassifiesEveryKindOfAddress) {
  struct Case {
    const char* address;
    AddressScope scope;
    const char* range;
  };
  const Case cases[] = {
      {"8.8.8.8", AddressScope::global, ""},
      {"93.184.215.14", AddressScope::global, ""},
      {"0.0.0.0", AddressScope::unspecified, "0.0.0.0/32"},
      {"0.1.2.3", AddressScope::this_network, "0.0.0.0/8"},
      {"10.0.0.1", AddressScope::private_use, "10.0.0.0/8"},
      {"100.64.0.1", AddressScope::shared, "100.64.0.0/10"},
      {"100.127.255.255", AddressScope::shared, "100.64.0.0/10"},
      {"100.128.0.1", AddressScope::global, ""},
      {"127.0.0.1", AddressScope::loopback, "127.0.0.0/8"},
      {"127.255.0.9", AddressScope::loopback, "127.0.0.0/8"},
      {"169.254.169.254", AddressScope::link_local, "169.254.0.0/16"},
      {"172.15.255.255", AddressScope::global, ""},
      {"172.16.0.1", AddressScope::private_use, "172.16.0.0/12"},
      {"172.31.255.254", AddressScope::private_use, "172.16.0.0/12"},
      {"172.32.0.1", AddressScope::global, ""},
      {"192.0.0.8", AddressScope::reserved, "192.0.0.0/24"},
      {"192.0.2.1", AddressScope::documentation, "192.0.2.0/24"},
      {"192.88.99.1", AddressScope::reserved, "192.88.99.0/24"},
      {"192.168.1.1", AddressScope::private_use, "192.168.0.0/16"},
      {"198.18.0.1", AddressScope::benchmarking, "198.18.0.0/15"},
      {"198.19.255.255", AddressScope::benchmarking, "198.18.0.0/15"},
      {"198.51.100.7", AddressScope::documentation, "198.51.100.0/24"},
      {"203.0.113.9", AddressScope::documentation, "203.0.113.0/24"},
      {"224.0.0.1", AddressScope::multicast, "224.0.0.0/4"},
      {"239.255.255.250", AddressScope::multicast, "224.0.0.0/4"},
      {"240.0.0.1", AddressScope::reserved, "240.0.0.0/4"},
      {"255.255.255.255", AddressScope::broadcast, "255.255.255.255/32"},
      {"2606:4700::1111", AddressScope::global, ""},
      {"2a00:1450:4001::200e", AddressScope::global, ""},
      {"::", AddressScope::unspecified, "::/128"},
      {"::1", AddressScope::loopback, "::1/128"},
      {"::2", AddressScope::reserved, "outside 2000::/3"},
      {"::127.0.0.1", AddressScope::reserved, "outside 2000::/3"},  // IPv4-compatible, deprecated
      {"::ffff:127.0.0.1", AddressScope::loopback, "::ffff:0.0.0.0/96 of 127.0.0.0/8"},
      {"::ffff:169.254.169.254", AddressScope::link_local, "::ffff:0.0.0.0/96 of 169.254.0.0/16"},
      {"::ffff:8.8.8.8", AddressScope::global, ""},
      {"64:ff9b::10.0.0.1", AddressScope::private_use, "64:ff9b::/96 of 10.0.0.0/8"},
      {"64:ff9b::8.8.8.8", AddressScope::global, ""},
      {"64:ff9b:1::1", AddressScope::private_use, "64:ff9b:1::/48"},
      {"100::1", AddressScope::reserved, "100::/64"},
      {"2001::1", AddressScope::reserved, "2001::/23"},  // Teredo
      {"2001:2::1", AddressScope::benchmarking, "2001:2::/48"},
      {"2001:db8::1", AddressScope::documentation, "2001:db8::/32"},
      {"2002:a9fe:a9fe::1", AddressScope::link_local, "2002::/16 of 169.254.0.0/16"},  // 6to4
      {"2002:808:808::1", AddressScope::global, ""},
      {"3fff::1", AddressScope::documentation, "3fff::/20"},
      {"fc00::1", AddressScope::unique_local, "fc00::/7"},
      {"fd12:3456::1", AddressScope::unique_local, "fc00::/7"},
      {"fe80::1", AddressScope::link_local, "fe80::/10"},
      {"febf::1", AddressScope::link_local, "fe80::/10"},
      {"fec0::1", AddressScope::site_local, "fec0::/10"},
      {"ff02::1", AddressScope::multicast, "ff00::/8"},
      {"4000::1", AddressScope::reserved, "outside 2000::/3"},
  };
  for (const auto& c : cases) {
    const auto got = classify_address(ip(c.address));
    EXPECT_EQ(got.scope, c.scope) << c.address << " classified " << to_string(got.scope);
    EXPECT_EQ(got.range, c.range) << c.address;
  }
}

TEST(UtilAddressClass, NamesEachScopeForMessages) {
  EXPECT_EQ(to_string(AddressScope::link_local), "link-local");
  EXPECT_EQ(to_string(AddressScope::private_use), "private");
  EXPECT_EQ(to_string(AddressScope::unique_local), "unique-local");
  EXPECT_EQ(to_string(AddressScope::global), "public");
}

}  // namespace
}  // namespace mediax::util
