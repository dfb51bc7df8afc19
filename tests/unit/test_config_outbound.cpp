// security.allowed_private_networks: a TOML array of CIDRs, checked entry by entry at load.
#include <gtest/gtest.h>

#include "config/config.hpp"
#include "support/config_error.hpp"
#include "runtime/startup.hpp"

namespace mediax {
namespace {

std::string error_of(const std::string& text) { return test::config_error_of(text); }

TEST(ConfigOutbound, AllowedPrivateNetworksDefaultToNoneAndAreRead) {
  EXPECT_TRUE(parse_config("", "d.toml").security.allowed_private_networks.empty());
  const Config c = parse_config(
      "[security]\nallowed_private_networks = [\"127.0.0.0/8\", \"::1/128\", \"10.20.0.0/16\", \"192.168.1.7\"]\n",
      "c.toml");
  EXPECT_EQ(c.security.allowed_private_networks,
            (std::vector<std::string>{"127.0.0.0/8", "::1/128", "10.20.0.0/16", "192.168.1.7"}));
  EXPECT_EQ(parse_config(render_config(c), "c.toml"), c) << "renders and parses back";
  EXPECT_NE(render_config(c).find("allowed_private_networks = [\"127.0.0.0/8\", \"::1/128\""), std::string::npos);

  const auto policy = outbound_policy(c.security);
  ASSERT_EQ(policy.allowed_private_networks.size(), 4U);
  EXPECT_EQ(util::to_string(policy.allowed_private_networks[3]), "192.168.1.7/32");
}

TEST(ConfigOutbound, BadNetworksAreRefusedNamingTheKeyAndTheEntry) {
  EXPECT_EQ(error_of("[security]\nallowed_private_networks = [\"127.0.0.0/8\", \"10.0.0.1/8\"]\n"),
            "test.toml:2:44: security.allowed_private_networks: \"10.0.0.1/8\" has bits set past its prefix; the "
            "network is 10.0.0.0/8");
  EXPECT_NE(error_of("[security]\nallowed_private_networks = [\"localhost\"]\n")
                .find("security.allowed_private_networks: \"localhost\" is not an IPv4 or IPv6 network"),
            std::string::npos);
  EXPECT_NE(error_of("[security]\nallowed_private_networks = [\"::/200\"]\n").find("prefix length must be 0..128"),
            std::string::npos);
  EXPECT_EQ(error_of("[security]\nallowed_private_networks = \"127.0.0.0/8\"\n"),
            "test.toml:2:28: security.allowed_private_networks: expected an array of strings, got a string");
  EXPECT_EQ(error_of("[security]\nallowed_private_networks = [\"127.0.0.0/8\", 10]\n"),
            "test.toml:2:44: security.allowed_private_networks: expected strings in the array, got an integer");
}

TEST(ConfigOutbound, NeedsARestartAndIsDocumented) {
  Config running;
  Config loaded;
  loaded.security.allowed_private_networks = {"127.0.0.0/8"};
  EXPECT_EQ(non_reloadable_changes(running, loaded),
            (std::vector<std::string>{"security.allowed_private_networks"}));
  bool documented = false;
  for (const auto& d : config_key_docs()) {
    if (d.key != "security.allowed_private_networks") continue;
    documented = true;
    EXPECT_EQ(d.type, "array of strings");
    EXPECT_EQ(d.default_value, "[]");
    EXPECT_FALSE(d.reloadable);
  }
  EXPECT_TRUE(documented);
}

}  // namespace
}  // namespace mediax
