// Hostile input on the admin API, without HTTP: the JSON nesting limit (http/json_body) and the
// strict reading of request bodies (service/app_request).
#include <gtest/gtest.h>

#include <string>

#include "fake_http_client.hpp"
#include "http/json_body.hpp"
#include "platforms/oauth2_platform.hpp"
#include "service/app_request.hpp"

namespace mediax {
namespace {

using json = nlohmann::json;

const std::vector<std::string> kPlatforms{"oauth2", "douyin", "wechat", "google"};
constexpr const char* kCallback = "http://127.0.0.1:8080/oauth/callback";

std::string nested_arrays(std::size_t depth) { return std::string(depth, '[') + std::string(depth, ']'); }

// The ApiError a call throws; fails the test when it throws none.
template <typename F>
ApiError error_of(F f) {
  try {
    f();
  } catch (const ApiError& e) {
    return e;
  }
  ADD_FAILURE() << "no ApiError";
  return ApiError(0, "", "");
}

json minimal_app() {
  return {{"name", "crm"}, {"platform", "oauth2"}, {"client_id", "id"}, {"client_secret", "s"},
          {"endpoints", {{"token_url", "https://idp.example/token"}}}};
}

TEST(JsonBody, NestingDepthCountsBracketsOutsideStringsOnly) {
  EXPECT_EQ(json_nesting_depth("{}", 32), 1U);
  EXPECT_EQ(json_nesting_depth(R"({"a":[{"b":[1]}]})", 32), 4U);
  EXPECT_EQ(json_nesting_depth(R"({"a":"[[[[{{{{"})", 32), 1U);
  EXPECT_EQ(json_nesting_depth(R"({"a":"\"[[[["})", 32), 1U);  // an escaped quote does not end the string
  EXPECT_EQ(json_nesting_depth(R"(["\\", [[]]])", 32), 3U);    // an escaped backslash does
  EXPECT_EQ(json_nesting_depth("]]]]{", 32), 1U);
  EXPECT_EQ(json_nesting_depth("", 32), 0U);
}

TEST(JsonBody, BodiesUpToTheLimitParse) {
  EXPECT_EQ(parse_json_body(nested_arrays(kMaxJsonDepth)).size(), 1U);
  EXPECT_EQ(parse_json_body(R"({"a":1})")["a"], 1);
}

TEST(JsonBody, DeeperBodiesAreRefusedBeforeParsing) {
  const auto e = error_of([] { parse_json_body(nested_arrays(kMaxJsonDepth + 1)); });
  EXPECT_EQ(e.status(), 400);
  EXPECT_EQ(e.code(), "invalid_json");
  EXPECT_NE(std::string(e.what()).find("deeper than 32"), std::string::npos) << e.what();
  // A million open brackets: refused at once, no stack exhaustion, not even valid JSON needed.
  EXPECT_EQ(error_of([] { parse_json_body(std::string(1'000'000, '[')); }).code(), "invalid_json");
  EXPECT_EQ(error_of([] { parse_json_body(R"({"a":)" + nested_arrays(200) + "}"); }).code(), "invalid_json");
}

TEST(JsonBody, EmptyAndMalformedBodiesAreInvalidJsonWithoutQuotingThem) {
  EXPECT_EQ(error_of([] { parse_json_body(""); }).code(), "invalid_json");
  const auto e = error_of([] { parse_json_body(R"({"client_secret":"hunter2-secret")"); });
  EXPECT_EQ(e.code(), "invalid_json");
  EXPECT_EQ(std::string(e.what()).find("hunter2"), std::string::npos) << e.what();
  EXPECT_EQ(error_of([] { parse_json_body("{\"a\":\"\xff\"}"); }).code(), "invalid_json");  // not UTF-8
}

TEST(JsonBody, NumbersBeyondADoubleAreInvalidJsonNotAnInternalError) {
  // Found by fuzz_admin_json: nlohmann throws out_of_range (not parse_error) for these.
  for (const char* body : {"1e999", R"({"name":"x","scopes":[-1e999]})", "\t\t1e999\t"}) {
    const auto e = error_of([&] { parse_json_body(body); });
    EXPECT_EQ(e.status(), 400) << body;
    EXPECT_EQ(e.code(), "invalid_json") << body;
  }
}

TEST(AppRequest, AMinimalBodyGivesTheAppWithDefaults) {
  const App app = app_from_request(minimal_app(), kPlatforms, kCallback);
  EXPECT_EQ(app.name, "crm");
  EXPECT_EQ(app.platform, "oauth2");
  EXPECT_EQ(app.endpoints.token_url, "https://idp.example/token");
  EXPECT_EQ(app.redirect_uri, kCallback);
  EXPECT_EQ(app.token_auth_method, "client_secret_post");
  EXPECT_FALSE(app.client_credentials);
}

TEST(AppRequest, WrongTypesAreRefusedNamingTheField) {
  const std::vector<std::pair<std::string, json>> cases = {
      {"name", 5},           {"platform", json::array()}, {"client_id", true},      {"client_secret", 1.5},
      {"scopes", "openid"},  {"client_credentials", "yes"}, {"token_auth_method", 1}, {"redirect_uri", json::object()},
      {"options", "pkce"},   {"endpoints", json::array()}, {"issuer", 3}};
  for (const auto& [field, value] : cases) {
    json body = minimal_app();
    body[field] = value;
    if (field == "issuer") body.erase("endpoints");
    const auto e = error_of([&] { app_from_request(body, kPlatforms, kCallback); });
    EXPECT_EQ(e.status(), 400) << field;
    EXPECT_EQ(std::string(e.what()).rfind(field + ":", 0), 0U) << field << " -> " << e.what();
  }
}

TEST(AppRequest, UnknownFieldsAreRefusedAndLongNamesAreCutInTheMessage) {
  json body = minimal_app();
  body["webhok"] = "x";
  EXPECT_STREQ(error_of([&] { app_from_request(body, kPlatforms, kCallback); }).what(), "webhok: unknown field");
  body = minimal_app();
  body["endpoints"]["userinfo_url"] = "https://idp.example/userinfo";
  EXPECT_STREQ(error_of([&] { app_from_request(body, kPlatforms, kCallback); }).what(),
               "endpoints.userinfo_url: unknown field");
  body = minimal_app();
  body[std::string("a\0b\n", 4)] = 1;
  EXPECT_STREQ(error_of([&] { app_from_request(body, kPlatforms, kCallback); }).what(), "a?b?: unknown field");
  body = minimal_app();
  body[std::string(100'000, 'k')] = 1;
  EXPECT_LT(std::string(error_of([&] { app_from_request(body, kPlatforms, kCallback); }).what()).size(), 100U);
}

TEST(AppRequest, NamesOutsideTheSafeSetAreRefused) {
  const std::vector<std::string> names{"",         "Crm",          "-crm", "crm app", "crm/../x", "crm%2f",
                                       "cr\xc3\xa9", std::string(64, 'a'), std::string("crm\0x", 5)};
  for (const auto& name : names) {
    json body = minimal_app();
    body["name"] = name;
    const auto e = error_of([&] { app_from_request(body, kPlatforms, kCallback); });
    EXPECT_EQ(std::string(e.what()).rfind("name:", 0), 0U) << e.what();
  }
  EXPECT_TRUE(valid_app_name(std::string(63, 'a')));
}

TEST(AppRequest, StringsAreLimitedInLengthAndControlCharacters) {
  json body = minimal_app();
  body["client_id"] = std::string(513, 'i');
  EXPECT_EQ(std::string(error_of([&] { app_from_request(body, kPlatforms, kCallback); }).what()).rfind("client_id:", 0), 0U);
  body = minimal_app();
  body["client_secret"] = std::string(4097, 's');
  EXPECT_EQ(std::string(error_of([&] { app_from_request(body, kPlatforms, kCallback); }).what()).rfind("client_secret:", 0),
            0U);
  body = minimal_app();
  body["client_id"] = "id\r\nX-Injected: 1";
  EXPECT_STREQ(error_of([&] { app_from_request(body, kPlatforms, kCallback); }).what(),
               "client_id: must not contain control characters");
  body = minimal_app();
  body["redirect_uri"] = "javascript:alert(1)";
  EXPECT_EQ(std::string(error_of([&] { app_from_request(body, kPlatforms, kCallback); }).what()).rfind("redirect_uri:", 0),
            0U);
}

TEST(AppRequest, ScopesAreRfc6749ScopeTokensWithinLimits) {
  json body = minimal_app();
  body["scopes"] = {"openid", "https://www.googleapis.com/auth/drive.readonly", "user_info"};
  EXPECT_EQ(app_from_request(body, kPlatforms, kCallback).scopes.size(), 3U);
  for (const json& bad : {json{"a b"}, json{""}, json{"quo\"te"}, json{"back\\slash"}, json{"\xc3\xa9"},
                          json{std::string(257, 's')}, json{1}, json(std::vector<std::string>(101, "s"))}) {
    body["scopes"] = bad;
    EXPECT_EQ(std::string(error_of([&] { app_from_request(body, kPlatforms, kCallback); }).what()).rfind("scopes:", 0), 0U)
        << bad.dump();
  }
}

TEST(AppRequest, UnknownPlatformsAreRefusedListingTheKnownOnes) {
  json body = minimal_app();
  body["platform"] = "myspace";
  const auto e = error_of([&] { app_from_request(body, kPlatforms, kCallback); });
  EXPECT_EQ(e.code(), "unknown_platform");
  EXPECT_NE(std::string(e.what()).find("oauth2, douyin, wechat, google"), std::string::npos) << e.what();
}

TEST(AppRequest, TheBodyMustBeAnObject) {
  for (const json& body : {json::array(), json(1), json("x"), json(nullptr)}) {
    EXPECT_EQ(error_of([&] { app_from_request(body, kPlatforms, kCallback); }).code(), "invalid_json");
    EXPECT_EQ(error_of([&] { rejected_token_from_request(body); }).code(), "invalid_json");
  }
}

TEST(RejectedTokenRequest, TakesExactlyOneNonEmptyAccessToken) {
  EXPECT_EQ(rejected_token_from_request({{"access_token", "at-1"}}), "at-1");
  EXPECT_STREQ(error_of([] { rejected_token_from_request(json::object()); }).what(),
               "access_token: is required (the token the platform refused)");
  EXPECT_STREQ(error_of([] { rejected_token_from_request({{"access_token", ""}}); }).what(),
               "access_token: is required (the token the platform refused)");
  EXPECT_STREQ(error_of([] { rejected_token_from_request({{"access_token", 7}}); }).what(),
               "access_token: is required (the token the platform refused)");
  EXPECT_STREQ(error_of([] { rejected_token_from_request({{"access_token", "at"}, {"grant", 1}}); }).what(),
               "grant: unknown field");
}

TEST(RejectedTokenRequest, OverlongOrControlCharacterTokensAreRefusedWithoutQuotingThem) {
  const std::string huge = "secret-" + std::string(kMaxReportedTokenLength, 'x');
  const auto e = error_of([&] { rejected_token_from_request({{"access_token", huge}}); });
  EXPECT_EQ(e.status(), 400);
  EXPECT_EQ(std::string(e.what()).find("secret-"), std::string::npos);
  EXPECT_EQ(error_of([] { rejected_token_from_request({{"access_token", "secret\nx"}}); }).code(), "invalid_field");
}

TEST(OAuth2Options, OnlyABooleanPkceIsAccepted) {
  testing::FakeHttpClient http;
  OAuth2Platform platform(http, {});
  App app = app_from_request(minimal_app(), kPlatforms, kCallback);
  app.options = {{"pkce", false}};
  EXPECT_TRUE(platform.prepare_app(app).ok);
  app.options = {{"pkce", "no"}};
  EXPECT_EQ(platform.prepare_app(app).message, "options.pkce: must be true or false");
  app.options = {{"audience", "api"}};
  EXPECT_EQ(platform.prepare_app(app).message, "options.audience: unknown option");
  EXPECT_TRUE(http.requests.empty());
}

}  // namespace
}  // namespace mediax
