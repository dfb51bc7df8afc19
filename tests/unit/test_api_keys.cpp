// Admin API keys: generation, hashing, names and roles, and the route rules of http/auth.
#include <gtest/gtest.h>

#include <set>

#include "crypto/crypto.hpp"
#include "http/auth.hpp"
#include "service/api_keys.hpp"

namespace mediax {
namespace {

TEST(ApiKeys, GeneratedKeysArePrefixedRandomAnd256Bits) {
  std::set<std::string> seen;
  for (int i = 0; i < 100; ++i) {
    const auto k = generate_api_key();
    ASSERT_EQ(k.rfind("mxk_", 0), 0U) << k;
    EXPECT_EQ(k.size(), 4U + 43U);  // base64url of 32 bytes
    EXPECT_TRUE(crypto::base64url_decode(k.substr(4)).has_value());
    seen.insert(k);
  }
  EXPECT_EQ(seen.size(), 100U);
}

TEST(ApiKeys, HashIsHexSha256OfTheWholeKey) {
  EXPECT_EQ(hash_api_key("abc"), "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
  EXPECT_NE(hash_api_key("mxk_a"), hash_api_key("mxk_b"));
}

TEST(ApiKeys, NamesAndRolesAreValidated) {
  EXPECT_EQ(check_api_key_name("ci-bot_1.prod"), "");
  EXPECT_NE(check_api_key_name(""), "");
  EXPECT_NE(check_api_key_name("-x"), "");
  EXPECT_NE(check_api_key_name("Upper"), "");
  EXPECT_NE(check_api_key_name("a b"), "");
  EXPECT_NE(check_api_key_name(std::string(64, 'a')), "");
  EXPECT_EQ(check_api_key_role("admin"), "");
  EXPECT_EQ(check_api_key_role("reader"), "");
  EXPECT_NE(check_api_key_role("root"), "");
}

TEST(AuthRoutes, HealthMetricsCallbackAndConsoleFilesArePublic) {
  for (const char* p :
       {"/healthz", "/readyz", "/metrics", "/oauth/callback", "/console", "/console/", "/console/app.js"}) {
    EXPECT_TRUE(is_public_route("GET", p)) << p;
  }
  EXPECT_FALSE(is_public_route("POST", "/healthz"));
  EXPECT_FALSE(is_public_route("GET", "/v1/apps"));
  EXPECT_FALSE(is_public_route("GET", "/consolex"));
  EXPECT_FALSE(is_public_route("GET", "/console/../v1/apps"));
  EXPECT_FALSE(is_public_route("GET", "/healthz/"));
}

TEST(AuthRoutes, ReaderMayOnlyReadTokensAndReportRejectedOnes) {
  EXPECT_TRUE(reader_may("GET", "/v1/apps/crm/token"));
  EXPECT_TRUE(reader_may("GET", "/v1/grants/7/token"));
  EXPECT_TRUE(reader_may("POST", "/v1/apps/crm/token/rejected"));
  EXPECT_TRUE(reader_may("POST", "/v1/grants/7/token/rejected"));
  EXPECT_FALSE(reader_may("POST", "/v1/apps/crm/token"));
  EXPECT_FALSE(reader_may("GET", "/v1/apps/crm/token/rejected"));
  EXPECT_FALSE(reader_may("GET", "/v1/apps"));
  EXPECT_FALSE(reader_may("GET", "/v1/apps/crm"));
  EXPECT_FALSE(reader_may("POST", "/v1/apps"));
  EXPECT_FALSE(reader_may("DELETE", "/v1/apps/crm"));
  EXPECT_FALSE(reader_may("DELETE", "/v1/grants/7"));
  EXPECT_FALSE(reader_may("POST", "/v1/grants/7/recover"));  // an admin's action, like revoke
  EXPECT_FALSE(reader_may("POST", "/v1/apps/crm/refresh"));
  EXPECT_FALSE(reader_may("GET", "/v1/apps/crm/grants"));
  EXPECT_FALSE(reader_may("GET", "/v1/apps/a/b/token"));
  EXPECT_FALSE(reader_may("GET", "/v1/apps/crm/tokenx"));
}

TEST(AuthRoutes, BearerKeyIsTakenFromTheAuthorizationHeader) {
  EXPECT_EQ(bearer_key("Bearer mxk_abc"), "mxk_abc");
  EXPECT_EQ(bearer_key("bearer  mxk_abc "), "mxk_abc");
  EXPECT_EQ(bearer_key("Basic dXNlcjpwYXNz"), "");
  EXPECT_EQ(bearer_key("Bearer "), "");
  EXPECT_EQ(bearer_key(""), "");
}

}  // namespace
}  // namespace mediax
