// core/secret_binding: what an app's secrets are bound to, and how a change is told.
#include <gtest/gtest.h>

#include "core/secret_binding.hpp"

namespace mediax {
namespace {

App oauth2_app(const std::string& token_url, const std::string& revocation_url = "") {
  App a;
  a.id = 7;
  a.platform = "oauth2";
  a.endpoints.token_url = token_url;
  a.endpoints.revocation_url = revocation_url;
  return a;
}

TEST(SecretBinding, IsThePlatformAndTheOriginsTheSecretIsSentTo) {
  EXPECT_EQ(secret_binding(oauth2_app("https://IdP.example.com/oauth/token", "https://idp.example.com:8443/revoke")),
            "oauth2 token=https://idp.example.com revocation=https://idp.example.com:8443");
  EXPECT_EQ(secret_binding(oauth2_app("http://127.0.0.1:9000/token")),
            "oauth2 token=http://127.0.0.1:9000 revocation=none");
  // The path does not matter (same host); the scheme and port do.
  EXPECT_EQ(secret_binding(oauth2_app("https://idp.example.com/a")), secret_binding(oauth2_app("https://idp.example.com:443/b")));
  EXPECT_NE(secret_binding(oauth2_app("https://idp.example.com/a")), secret_binding(oauth2_app("http://idp.example.com/a")));

  // Platforms whose endpoints come from the daemon's config: the database cannot move them.
  App wechat;
  wechat.platform = "wechat";
  EXPECT_EQ(secret_binding(wechat), "wechat token=config revocation=none");
  // Douyin's per-app sandbox base_url is where its secret goes.
  App douyin;
  douyin.platform = "douyin";
  EXPECT_EQ(secret_binding(douyin), "douyin token=config revocation=none");
  douyin.options = {{"base_url", "https://open-sandbox.douyin.com/"}};
  EXPECT_EQ(secret_binding(douyin), "douyin token=https://open-sandbox.douyin.com revocation=none");
  // Another platform for the same row is another binding.
  App other = oauth2_app("");
  EXPECT_NE(secret_binding(other), secret_binding(wechat));
}

TEST(SecretBinding, SaysWhichEndpointChanged) {
  const auto was = secret_binding(oauth2_app("https://idp.example.com/token", "https://idp.example.com/revoke"));
  const auto token = secret_binding(oauth2_app("https://evil.example/token", "https://idp.example.com/revoke"));
  EXPECT_EQ(describe_binding_change(was, token),
            "token endpoint changed since the secret was sealed (sealed for https://idp.example.com, now "
            "https://evil.example)");
  const auto revocation = secret_binding(oauth2_app("https://idp.example.com/token", "https://evil.example/r"));
  EXPECT_NE(describe_binding_change(was, revocation).find("revocation endpoint changed since the secret was sealed"),
            std::string::npos);
  EXPECT_EQ(describe_binding_change(was, was), "");
}

}  // namespace
}  // namespace mediax
