// One credential, one token: which apps fetch their app token with the same platform credential
// (platforms/credential_key.cpp), and how each platform takes a token (platforms/token_usage.cpp).
#include <gtest/gtest.h>

#include "platforms/credential_key.hpp"
#include "platforms/token_usage.hpp"

using namespace mediax;

namespace {

PlatformSettings settings_with(const std::string& douyin_base) {
  PlatformSettings s;
  if (!douyin_base.empty()) s.urls["douyin"]["base_url"] = douyin_base;
  return s;
}

App app_of(const std::string& platform, const std::string& client_id, bool client_credentials = true) {
  App a;
  a.name = "a";
  a.platform = platform;
  a.client_id = client_id;
  a.client_credentials = client_credentials;
  return a;
}

}  // namespace

TEST(CredentialKey, AppsWithoutAnAppTokenHaveNone) {
  // Grants of apps sharing a client id are separate: only app-token fetchers can collide.
  for (const char* p : {"douyin", "wechat", "wechat_component", "google", "oauth2"}) {
    EXPECT_EQ(credential_key(app_of(p, "cid", false), {}), "") << p;
  }
}

TEST(CredentialKey, DouyinAndWeChatAreTheirClientIdOnTheDaemonsBaseUrl) {
  EXPECT_EQ(credential_key(app_of("douyin", "aw123"), {}), "douyin - aw123");
  EXPECT_EQ(credential_key(app_of("wechat", "wx123"), {}), "wechat - wx123");
  // A third-party platform's component token is its own credential, apart from a wechat app's.
  EXPECT_EQ(credential_key(app_of("wechat_component", "wx123"), {}), "wechat_component - wx123");
  EXPECT_NE(credential_key(app_of("douyin", "aw123"), {}), credential_key(app_of("douyin", "aw124"), {}));
  // The same id on two platforms is two credentials.
  EXPECT_NE(credential_key(app_of("douyin", "x"), {}), credential_key(app_of("wechat", "x"), {}));
}

TEST(CredentialKey, DouyinAppsOwnBaseUrlIsAnotherCredentialUnlessItIsTheDaemons) {
  App sandbox = app_of("douyin", "aw123");
  sandbox.options = {{"base_url", "https://open-sandbox.douyin.com/"}};
  EXPECT_EQ(credential_key(sandbox, {}), "douyin https://open-sandbox.douyin.com aw123");

  App spelled_out = app_of("douyin", "aw123");
  spelled_out.options = {{"base_url", "HTTPS://Open.Douyin.com/"}};
  EXPECT_EQ(credential_key(spelled_out, {}), "douyin - aw123") << "the default host, spelled differently";

  // A daemon configured for the sandbox: an app naming it is on the daemon's base URL, an app
  // naming production is not.
  EXPECT_EQ(credential_key(sandbox, settings_with("https://open-sandbox.douyin.com")), "douyin - aw123");
  EXPECT_EQ(credential_key(spelled_out, settings_with("https://open-sandbox.douyin.com")),
            "douyin https://open.douyin.com aw123");
}

TEST(CredentialKey, OAuth2IsItsClientIdAtItsTokenEndpoint) {
  App a = app_of("oauth2", "svc");
  a.endpoints.token_url = "https://IdP.example/oauth/token/";
  EXPECT_EQ(credential_key(a, {}), "oauth2 https://idp.example/oauth/token svc");
  App b = a;
  b.endpoints.token_url = "https://idp.example/oauth/token";
  EXPECT_EQ(credential_key(a, {}), credential_key(b, {}));
  b.endpoints.token_url = "https://other.example/oauth/token";
  EXPECT_NE(credential_key(a, {}), credential_key(b, {}));
  b.endpoints.token_url = "https://idp.example/OAuth/token";  // paths are case-sensitive
  EXPECT_NE(credential_key(a, {}), credential_key(b, {}));
}

TEST(CredentialKey, GoogleServiceAccountIsPerImpersonatedUser) {
  App a = app_of("google", "sa@p.iam.gserviceaccount.com");
  EXPECT_EQ(credential_key(a, {}), "google - sa@p.iam.gserviceaccount.com");
  App b = a;
  b.options = {{"subject", "admin@example.com"}};
  EXPECT_EQ(credential_key(b, {}), "google sub=admin@example.com sa@p.iam.gserviceaccount.com");
}

TEST(NormalizedBaseUrl, LowersSchemeAndHostAndDropsTrailingSlashes) {
  EXPECT_EQ(normalized_base_url("HTTPS://Open.Douyin.COM//"), "https://open.douyin.com");
  EXPECT_EQ(normalized_base_url("https://IDP.example:8443/Token/"), "https://idp.example:8443/Token");
  EXPECT_EQ(normalized_base_url("https://IDP.example?X=1"), "https://idp.example?X=1");
  EXPECT_EQ(normalized_base_url(""), "");
}

TEST(TokenUsage, EachPlatformSaysHowItTakesATokenAndItRoundTrips) {
  EXPECT_EQ(to_string(token_usage_for("douyin")), "header:access-token");
  EXPECT_EQ(to_string(token_usage_for("wechat")), "query:access_token");
  EXPECT_EQ(to_string(token_usage_for("google")), "header:Authorization:Bearer");
  EXPECT_EQ(to_string(token_usage_for("oauth2")), "header:Authorization:Bearer");
  // The third-party platform's grants hold authorizer tokens (?access_token=); its app token is the
  // component token (?component_access_token=). Elsewhere the app token is taken as the grants'.
  EXPECT_EQ(to_string(token_usage_for("wechat_component")), "query:access_token");
  EXPECT_EQ(to_string(app_token_usage_for("wechat_component")), "query:component_access_token");
  for (const char* p : {"douyin", "wechat", "google", "oauth2"}) {
    EXPECT_EQ(app_token_usage_for(p), token_usage_for(p)) << p;
  }
  EXPECT_EQ(token_usage_from_string(to_string(TokenUsage::component_access_token_query)),
            TokenUsage::component_access_token_query);
  for (auto u : {TokenUsage::authorization_bearer, TokenUsage::access_token_header, TokenUsage::access_token_query}) {
    EXPECT_EQ(token_usage_from_string(to_string(u)), u);
  }
  EXPECT_FALSE(token_usage_from_string("Bearer").has_value());
}
