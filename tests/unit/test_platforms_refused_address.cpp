// A destination the outbound guard refused is the app's configuration, on every platform path:
// app_misconfigured "address_not_allowed" with the reason, never a transport failure to retry.
#include <gtest/gtest.h>

#include "platforms/oauth2_platform.hpp"
#include "platforms/platform_util.hpp"

namespace mediax {
namespace {

HttpClientResponse refused() {
  HttpClientResponse r;
  r.error = kAddressNotAllowed;
  r.error_detail = "10.0.0.7 is private (10.0.0.0/8), which security.allowed_private_networks does not list";
  return r;
}

TEST(PlatformsRefusedAddress, HttpFailureSaysTheAppIsMisconfigured) {
  const auto o = platform_util::http_failure(refused(), "Douyin's token endpoint", SysClock::now());
  EXPECT_EQ(o.kind, OutcomeKind::app_misconfigured);
  EXPECT_EQ(o.code, "address_not_allowed");
  EXPECT_EQ(o.message,
            "not calling Douyin's token endpoint: 10.0.0.7 is private (10.0.0.0/8), which "
            "security.allowed_private_networks does not list");

  HttpClientResponse timeout;
  timeout.error = "timeout";
  EXPECT_FALSE(platform_util::refused_address(timeout, "x"));
  EXPECT_EQ(platform_util::http_failure(timeout, "x", SysClock::now()).kind, OutcomeKind::retry_later);
}

TEST(PlatformsRefusedAddress, OAuth2TokenAndRevocationCallsSayTheSame) {
  for (auto flow : {oauth2::Flow::refresh_token, oauth2::Flow::client_credentials, oauth2::Flow::authorization_code}) {
    const auto o = oauth2::parse_token_response(refused(), flow, SysClock::now(), {});
    EXPECT_EQ(o.kind, OutcomeKind::app_misconfigured);
    EXPECT_EQ(o.code, "address_not_allowed");
    EXPECT_NE(o.message.find("not calling the token endpoint: 10.0.0.7 is private"), std::string::npos) << o.message;
  }
  const auto revoke = oauth2::parse_revoke_response(refused(), SysClock::now(), {});
  EXPECT_EQ(revoke.kind, OutcomeKind::app_misconfigured);
  EXPECT_EQ(revoke.code, "address_not_allowed");
}

}  // namespace
}  // namespace mediax
