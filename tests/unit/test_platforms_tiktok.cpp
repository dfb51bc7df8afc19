// TikTok's own rules beyond its fixtures (tests/platforms/tiktok): the PKCE challenge's encoding,
// which the connect flow asks the platform for, and revocation by the grant's access token.
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include "crypto/crypto.hpp"
#include "fake_http_client.hpp"
#include "platform_test_util.hpp"
#include "platforms/spec_platform.hpp"
#include "platforms/specs.hpp"

using namespace mediax;
using mediax::testing::FakeHttpClient;
using mediax::testing::fields_of;

namespace {

App tiktok_app(nlohmann::json options = nlohmann::json::object()) {
  App a;
  a.id = 1;
  a.platform = "tiktok";
  a.client_id = "awtestclientkey";
  a.client_secret = "tiktok-secret";
  a.scopes = {"user.info.basic"};
  a.options = std::move(options);
  return a;
}

// RFC 7636 appendix B's verifier.
const std::string kVerifier = "dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk";

}  // namespace

TEST(TikTokPkce, TheChallengeIsHexSha256UnlessTheAppAsksForBase64url) {
  FakeHttpClient http;
  SpecPlatform p(specs::tiktok(), http, {});
  const std::string hex = p.pkce_challenge(tiktok_app(), kVerifier);
  EXPECT_EQ(hex, crypto::to_hex(crypto::sha256(kVerifier)));
  EXPECT_EQ(hex.size(), 64u);
  // RFC 7636 appendix B's challenge for that verifier.
  EXPECT_EQ(p.pkce_challenge(tiktok_app({{"pkce_challenge_encoding", "base64url"}}), kVerifier),
            "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM");
  EXPECT_EQ(p.pkce_challenge(tiktok_app({{"pkce_challenge_encoding", "hex"}}), kVerifier), hex);
  EXPECT_TRUE(p.uses_pkce(tiktok_app()));
  EXPECT_FALSE(p.uses_pkce(tiktok_app({{"pkce", false}})));
}

TEST(TikTokPkce, AnEncodingOtherThanTheTwoIsRefusedAtRegistration) {
  FakeHttpClient http;
  SpecPlatform p(specs::tiktok(), http, {});
  App a = tiktok_app({{"pkce_challenge_encoding", "plain"}});
  const AppCheck check = p.prepare_app(a);
  EXPECT_FALSE(check.ok);
  EXPECT_NE(check.message.find("pkce_challenge_encoding"), std::string::npos) << check.message;
}

TEST(TikTokRevoke, PostsTheGrantsAccessTokenAndTheClientInTheBody) {
  FakeHttpClient http;
  http.respond(200, "{}");
  SpecPlatform p(specs::tiktok(), http, {});
  Grant g;
  g.id = 3;
  g.refresh_token = "rft.current";
  g.access_token = "act.current";
  const Outcome o = p.revoke(tiktok_app(), g);
  ASSERT_TRUE(o.ok()) << o.message;
  ASSERT_EQ(http.requests.size(), 1u);
  const auto& r = http.requests[0];
  EXPECT_EQ(r.method, "POST");
  EXPECT_EQ(r.url, "https://open.tiktokapis.com/v2/oauth/revoke/");
  auto f = fields_of(r.body);
  EXPECT_EQ(f["token"], "act.current");
  EXPECT_EQ(f["client_key"], "awtestclientkey");
  EXPECT_EQ(f["client_secret"], "tiktok-secret");
}
