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

// The Access a request needs on the admin listener, by the route table (http/routes.cpp).
Access access_of(const std::string& method, const std::string& path) {
  return required_access(match_route(route_table(), method, path).route);
}

TEST(AuthRoutes, HealthMetricsCallbackAndConsoleFilesArePublic) {
  for (const char* p :
       {"/healthz", "/readyz", "/metrics", "/oauth/callback", "/console", "/console/", "/console/app.js"}) {
    EXPECT_EQ(access_of("GET", p), Access::open) << p;
    EXPECT_EQ(access_of("HEAD", p), Access::open) << p;
  }
  // Other methods and paths no route serves need an admin key before they learn there is none.
  EXPECT_EQ(access_of("POST", "/healthz"), Access::admin);
  EXPECT_EQ(access_of("GET", "/v1/apps"), Access::admin);
  EXPECT_EQ(access_of("GET", "/consolex"), Access::admin);
  EXPECT_EQ(access_of("GET", "/healthz/"), Access::admin);
  // "/console/../v1/apps" is the console's file route, whose file lookup refuses ".." (test_console_files).
  EXPECT_EQ(match_route(route_table(), "GET", "/console/../v1/apps").route->operation_id, "getConsoleFile");
}

TEST(AuthRoutes, ReaderMayOnlyReadTokensAndReportRejectedOnes) {
  EXPECT_EQ(access_of("GET", "/v1/apps/crm/token"), Access::reader);
  EXPECT_EQ(access_of("GET", "/v1/grants/7/token"), Access::reader);
  EXPECT_EQ(access_of("HEAD", "/v1/grants/7/token"), Access::reader);
  EXPECT_EQ(access_of("POST", "/v1/apps/crm/token/rejected"), Access::reader);
  EXPECT_EQ(access_of("POST", "/v1/grants/7/token/rejected"), Access::reader);
  for (const auto& [method, path] : std::vector<std::pair<std::string, std::string>>{
           {"POST", "/v1/apps/crm/token"},
           {"GET", "/v1/apps/crm/token/rejected"},
           {"GET", "/v1/apps"},
           {"GET", "/v1/apps/crm"},
           {"POST", "/v1/apps"},
           {"DELETE", "/v1/apps/crm"},
           {"DELETE", "/v1/grants/7"},
           {"POST", "/v1/grants/7/recover"},  // an admin's action, like revoke
           {"POST", "/v1/apps/crm/refresh"},
           {"GET", "/v1/apps/crm/grants"},
           {"GET", "/v1/apps/a/b/token"},
           {"GET", "/v1/apps/crm/tokenx"}}) {
    EXPECT_EQ(access_of(method, path), Access::admin) << method << " " << path;
  }
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
