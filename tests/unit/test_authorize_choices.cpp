// POST /v1/apps/{name}/authorize bodies and /connect query parameters, read strictly.
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include "service/authorize_choices.hpp"

using namespace mediax;
using nlohmann::json;

namespace {

std::string refusal(const json& body) {
  try {
    authorize_choices_from_request(body);
  } catch (const ApiError& e) {
    EXPECT_EQ(e.status(), 400);
    return e.what();
  }
  return "";
}

}  // namespace

TEST(AuthorizeChoices, NoBodyMeansNoChoices) {
  auto c = authorize_choices_from_request(json());
  EXPECT_FALSE(c.grant_id.has_value());
  EXPECT_TRUE(c.scopes.empty());
  EXPECT_EQ(c.prompt, "");
  EXPECT_FALSE(c.include_granted_scopes.has_value());
  EXPECT_FALSE(authorize_choices_from_request(json::object()).grant_id.has_value());
}

TEST(AuthorizeChoices, ReadsEveryField) {
  auto c = authorize_choices_from_request(json{{"grant_id", 7},
                                               {"scopes", {"https://www.googleapis.com/auth/drive.readonly"}},
                                               {"prompt", "select_account consent"},
                                               {"login_hint", "ops@example.com"},
                                               {"include_granted_scopes", false}});
  EXPECT_EQ(c.grant_id, 7);
  EXPECT_EQ(c.scopes, (std::vector<std::string>{"https://www.googleapis.com/auth/drive.readonly"}));
  EXPECT_EQ(c.prompt, "select_account consent");
  EXPECT_EQ(c.login_hint, "ops@example.com");
  EXPECT_EQ(c.include_granted_scopes, false);
}

TEST(AuthorizeChoices, RefusesWhatItCannotUse) {
  EXPECT_NE(refusal(json{{"grant", 7}}).find("grant: unknown field"), std::string::npos);
  EXPECT_NE(refusal(json{{"grant_id", "7"}}).find("grant_id:"), std::string::npos);
  EXPECT_NE(refusal(json{{"grant_id", 0}}).find("grant_id:"), std::string::npos);
  EXPECT_NE(refusal(json{{"scopes", "a b"}}).find("scopes:"), std::string::npos);
  EXPECT_NE(refusal(json{{"scopes", {"a b"}}}).find("scopes:"), std::string::npos);
  EXPECT_NE(refusal(json{{"scopes", {""}}}).find("scopes:"), std::string::npos);
  EXPECT_NE(refusal(json{{"prompt", "consent&x=1"}}).find("prompt:"), std::string::npos);
  EXPECT_NE(refusal(json{{"login_hint", std::string(400, 'a')}}).find("login_hint:"), std::string::npos);
  EXPECT_NE(refusal(json{{"login_hint", "a\nb"}}).find("login_hint:"), std::string::npos);
  EXPECT_NE(refusal(json{{"include_granted_scopes", "yes"}}).find("include_granted_scopes:"), std::string::npos);
  EXPECT_THROW(authorize_choices_from_request(json::array()), ApiError);
}

TEST(AuthorizeChoices, QueryParametersSayTheSame) {
  auto c = authorize_choices_from_query({{"grant_id", "12"},
                                         {"scope", "openid  https://www.googleapis.com/auth/drive.readonly"},
                                         {"prompt", "select_account"},
                                         {"include_granted_scopes", "true"}});
  EXPECT_EQ(c.grant_id, 12);
  EXPECT_EQ(c.scopes, (std::vector<std::string>{"openid", "https://www.googleapis.com/auth/drive.readonly"}));
  EXPECT_EQ(c.prompt, "select_account");
  EXPECT_EQ(c.include_granted_scopes, true);
  EXPECT_THROW(authorize_choices_from_query({{"grant_id", "1x"}}), ApiError);
  EXPECT_THROW(authorize_choices_from_query({{"include_granted_scopes", "1"}}), ApiError);
  EXPECT_THROW(authorize_choices_from_query({{"state", "x"}}), ApiError);
}

TEST(AuthorizeChoices, ReadsTheWeChatThirdPartyPlatformChoices) {
  auto c =
      authorize_choices_from_request(json{{"mobile", true}, {"auth_type", 2}, {"biz_appid", "wx0123456789abcdef"}});
  EXPECT_TRUE(c.mobile);
  EXPECT_EQ(c.auth_type, 2);
  EXPECT_EQ(c.biz_appid, "wx0123456789abcdef");
  auto none = authorize_choices_from_request(json::object());
  EXPECT_FALSE(none.mobile);
  EXPECT_EQ(none.auth_type, 0);
  EXPECT_EQ(none.biz_appid, "");
  EXPECT_EQ(authorize_choices_from_request(json{{"auth_type", 1}}).auth_type, 1);
  EXPECT_EQ(authorize_choices_from_request(json{{"auth_type", 3}}).auth_type, 3);
  EXPECT_EQ(authorize_choices_from_request(json{{"biz_appid", std::string(64, 'a')}}).biz_appid.size(), 64U);
}

TEST(AuthorizeChoices, RefusesBadWeChatThirdPartyPlatformChoices) {
  EXPECT_NE(refusal(json{{"mobile", "true"}}).find("mobile:"), std::string::npos);
  EXPECT_NE(refusal(json{{"mobile", 1}}).find("mobile:"), std::string::npos);
  EXPECT_NE(refusal(json{{"auth_type", 0}}).find("auth_type:"), std::string::npos);
  EXPECT_NE(refusal(json{{"auth_type", 4}}).find("auth_type:"), std::string::npos);
  EXPECT_NE(refusal(json{{"auth_type", "1"}}).find("auth_type:"), std::string::npos);
  EXPECT_NE(refusal(json{{"auth_type", 1.5}}).find("auth_type:"), std::string::npos);
  EXPECT_NE(refusal(json{{"biz_appid", std::string(65, 'a')}}).find("biz_appid:"), std::string::npos);
  // It goes into the authorization URL: nothing that could add a parameter or a fragment.
  for (const char* bad : {"wx1&auth_type=3", "wx1#x", "wx 1", "wx-1", "wx1%26", "wx1\n"}) {
    EXPECT_NE(refusal(json{{"biz_appid", bad}}).find("biz_appid:"), std::string::npos) << bad;
  }
  EXPECT_NE(refusal(json{{"biz_appid", 5}}).find("biz_appid:"), std::string::npos);
}

TEST(AuthorizeChoices, ReadsTheWeChatThirdPartyPlatformChoicesFromAQuery) {
  auto c = authorize_choices_from_query({{"mobile", "true"}, {"auth_type", "3"}, {"biz_appid", "wx1"}});
  EXPECT_TRUE(c.mobile);
  EXPECT_EQ(c.auth_type, 3);
  EXPECT_EQ(c.biz_appid, "wx1");
  EXPECT_FALSE(authorize_choices_from_query({{"mobile", "false"}}).mobile);
  for (const auto& [k, v] : std::vector<std::pair<std::string, std::string>>{{"mobile", "yes"},
                                                                             {"mobile", ""},
                                                                             {"auth_type", "0"},
                                                                             {"auth_type", "4"},
                                                                             {"auth_type", "12"},
                                                                             {"auth_type", ""},
                                                                             {"auth_type", "x"},
                                                                             {"biz_appid", "a&b"}}) {
    try {
      authorize_choices_from_query({{k, v}});
      ADD_FAILURE() << k << "=" << v << " was accepted";
    } catch (const ApiError& e) {
      EXPECT_EQ(e.status(), 400);
      EXPECT_EQ(std::string(e.what()).rfind(k + ":", 0), 0U) << e.what();
    }
  }
}
