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
