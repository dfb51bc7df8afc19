// Where a WeChat third-party platform app stands with its ticket (service/component_status.hpp),
// as the app JSON, the metric and the receiver read it; how its app token is sent; the event
// route is public; the replay window's config key.
#include <gtest/gtest.h>

#include "config/config.hpp"
#include "http/auth.hpp"
#include "http/json_mapping.hpp"
#include "platforms/token_usage.hpp"
#include "service/component_status.hpp"

using namespace mediax;

namespace {

App component_app() {
  App a;
  a.name = "platform";
  a.platform = "wechat_component";
  a.client_credentials = true;
  return a;
}

}  // namespace

TEST(ComponentStatus, WaitsForATicketUntilOneIsStoredOrWhileTheTokenLastFailedForWantOfOne) {
  App a = component_app();
  EXPECT_TRUE(component_status::waiting_for_ticket(a)) << "no ticket stored";
  a.component_ticket_at = from_unix(1'900'000'000);
  EXPECT_FALSE(component_status::waiting_for_ticket(a));
  a.last_error = "waiting_for_ticket: no component_verify_ticket has been pushed yet";
  EXPECT_TRUE(component_status::waiting_for_ticket(a));
  a.last_error = "waiting_for_ticket";
  EXPECT_TRUE(component_status::waiting_for_ticket(a));
  a.last_error = "http_503: waiting_for_ticket";
  EXPECT_FALSE(component_status::waiting_for_ticket(a)) << "the code comes first";
  a.last_error = "waiting_for_tickets: x";
  EXPECT_FALSE(component_status::waiting_for_ticket(a));
  a.last_error = "61005: component ticket is expired";
  EXPECT_FALSE(component_status::waiting_for_ticket(a)) << "a stored ticket WeChat refused is another state";
  EXPECT_TRUE(component_status::blocked_on_ticket(a));
  a.last_error = "61006: component ticket is invalid";
  EXPECT_TRUE(component_status::blocked_on_ticket(a));
  a.last_error = "61004: access clientip is not registered";
  EXPECT_FALSE(component_status::blocked_on_ticket(a));
  a.last_error = "http_503";
  EXPECT_EQ(component_status::last_error_code(a), "http_503");
  EXPECT_FALSE(component_status::blocked_on_ticket(a));

  App other;
  other.platform = "wechat";
  other.last_error = "waiting_for_ticket";
  EXPECT_FALSE(component_status::waiting_for_ticket(other));
  EXPECT_FALSE(component_status::blocked_on_ticket(other));
}

TEST(ComponentStatus, AppJsonOfAComponentAppSaysWhenTheTicketCameAndWhetherItWaits) {
  App a = component_app();
  auto j = to_json(a);
  EXPECT_TRUE(j["component_ticket_at"].is_null());
  EXPECT_EQ(j["waiting_for_ticket"], true);
  a.component_ticket_at = from_unix(1795606408);
  j = to_json(a);
  EXPECT_EQ(j["component_ticket_at"], "2026-11-25T11:33:28Z");
  EXPECT_EQ(j["waiting_for_ticket"], false);
  a.secret_options = {{"message_token", "never-shown"}};
  EXPECT_EQ(to_json(a).dump().find("never-shown"), std::string::npos);

  App other;
  other.platform = "oauth2";
  EXPECT_FALSE(to_json(other).contains("component_ticket_at"));
  EXPECT_FALSE(to_json(other).contains("waiting_for_ticket"));
}

TEST(ComponentStatus, TheComponentTokenIsSentAsComponentAccessTokenOtherAppTokensAsTheirGrants) {
  EXPECT_EQ(to_string(app_token_usage_for("wechat_component")), "query:component_access_token");
  for (const char* p : {"wechat", "douyin", "google", "oauth2"}) {
    EXPECT_EQ(app_token_usage_for(p), token_usage_for(p)) << p;
  }
}

TEST(ComponentStatus, TheEventUrlIsPublicForPostOnly) {
  const auto access = [](const char* method, const char* path) {
    return required_access(match_route(route_table(), method, path).route);
  };
  EXPECT_EQ(access("POST", "/wechat/component/platform/events"), Access::open);
  EXPECT_EQ(access("GET", "/wechat/component/platform/events"), Access::admin);
  EXPECT_EQ(access("POST", "/wechat/component/platform/events/x"), Access::admin);
  EXPECT_EQ(access("POST", "/wechat/component//events"), Access::admin);
  EXPECT_EQ(access("POST", "/wechat/component/a/b/events"), Access::admin);
  EXPECT_EQ(access("POST", "/v1/apps"), Access::admin);
}

TEST(ComponentStatus, TheReplayWindowIsConfiguredWithinBounds) {
  EXPECT_EQ(parse_config("", "c.toml").wechat.event_max_age_seconds, 300);
  EXPECT_EQ(parse_config("[platforms.wechat]\nevent_max_age_seconds = 60\n", "c.toml").wechat.event_max_age_seconds,
            60);
  for (const char* bad : {"29", "3601", "\"300\""}) {
    EXPECT_THROW(parse_config(std::string("[platforms.wechat]\nevent_max_age_seconds = ") + bad + "\n", "c.toml"),
                 ConfigError)
        << bad;
  }
  // The base URLs of [platforms.wechat] are unchanged by it.
  EXPECT_EQ(parse_config("[platforms.wechat]\nevent_max_age_seconds = 60\n", "c.toml")
                .platforms.at("wechat")
                .at("api_base_url"),
            "https://api.weixin.qq.com");
}
