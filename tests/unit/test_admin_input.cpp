// Hostile input on the admin API, without HTTP: the JSON nesting limit (http/json_body) and the
// strict reading of request bodies (service/app_request, service/grant_request).
#include <gtest/gtest.h>

#include <string>

#include "fake_http_client.hpp"
#include "http/json_body.hpp"
#include "platforms/oauth2_platform.hpp"
#include "service/app_request.hpp"
#include "service/grant_request.hpp"
#include "util/time_format.hpp"

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
  return {{"name", "crm"},
          {"platform", "oauth2"},
          {"client_id", "id"},
          {"client_secret", "s"},
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
  EXPECT_EQ(app.redirect_uri, std::string(kCallback) + "/crm") << "the app's own callback path";
  EXPECT_EQ(app.token_auth_method, "client_secret_post");
  EXPECT_FALSE(app.client_credentials);
}

TEST(AppRequest, WrongTypesAreRefusedNamingTheField) {
  const std::vector<std::pair<std::string, json>> cases = {{"name", 5},
                                                           {"platform", json::array()},
                                                           {"client_id", true},
                                                           {"client_secret", 1.5},
                                                           {"scopes", "openid"},
                                                           {"client_credentials", "yes"},
                                                           {"token_auth_method", 1},
                                                           {"redirect_uri", json::object()},
                                                           {"options", "pkce"},
                                                           {"endpoints", json::array()},
                                                           {"issuer", 3}};
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
  const std::vector<std::string> names{
      "", "Crm", "-crm", "crm app", "crm/../x", "crm%2f", "cr\xc3\xa9", std::string(64, 'a'), std::string("crm\0x", 5)};
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
  EXPECT_EQ(std::string(error_of([&] { app_from_request(body, kPlatforms, kCallback); }).what()).rfind("client_id:", 0),
            0U);
  body = minimal_app();
  body["client_secret"] = std::string(4097, 's');
  EXPECT_EQ(
      std::string(error_of([&] { app_from_request(body, kPlatforms, kCallback); }).what()).rfind("client_secret:", 0),
      0U);
  body = minimal_app();
  body["client_id"] = "id\r\nX-Injected: 1";
  EXPECT_STREQ(error_of([&] { app_from_request(body, kPlatforms, kCallback); }).what(),
               "client_id: must not contain control characters");
  body = minimal_app();
  body["redirect_uri"] = "javascript:alert(1)";
  EXPECT_EQ(
      std::string(error_of([&] { app_from_request(body, kPlatforms, kCallback); }).what()).rfind("redirect_uri:", 0),
      0U);
}

TEST(AppRequest, ScopesAreRfc6749ScopeTokensWithinLimits) {
  json body = minimal_app();
  body["scopes"] = {"openid", "https://www.googleapis.com/auth/drive.readonly", "user_info"};
  EXPECT_EQ(app_from_request(body, kPlatforms, kCallback).scopes.size(), 3U);
  for (const json& bad : {json{"a b"}, json{""}, json{"quo\"te"}, json{"back\\slash"}, json{"\xc3\xa9"},
                          json{std::string(257, 's')}, json{1}, json(std::vector<std::string>(101, "s"))}) {
    body["scopes"] = bad;
    EXPECT_EQ(std::string(error_of([&] { app_from_request(body, kPlatforms, kCallback); }).what()).rfind("scopes:", 0),
              0U)
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
  EXPECT_STREQ(error_of([] {
                 rejected_token_from_request({{"access_token", ""}});
               }).what(),
               "access_token: is required (the token the platform refused)");
  EXPECT_STREQ(error_of([] {
                 rejected_token_from_request({{"access_token", 7}});
               }).what(),
               "access_token: is required (the token the platform refused)");
  EXPECT_STREQ(error_of([] {
                 rejected_token_from_request({{"access_token", "at"}, {"grant", 1}});
               }).what(),
               "grant: unknown field");
}

TEST(RejectedTokenRequest, OverlongOrControlCharacterTokensAreRefusedWithoutQuotingThem) {
  const std::string huge = "secret-" + std::string(kMaxReportedTokenLength, 'x');
  const auto e = error_of([&] { rejected_token_from_request({{"access_token", huge}}); });
  EXPECT_EQ(e.status(), 400);
  EXPECT_EQ(std::string(e.what()).find("secret-"), std::string::npos);
  EXPECT_EQ(error_of([] { rejected_token_from_request({{"access_token", "secret\nx"}}); }).code(), "invalid_field");
}

// --- POST /v1/apps/{name}/grants and /grants/import (service/grant_request) ---

const TimePoint kNow = from_unix(1'900'000'000);  // 2030-03-17T17:46:40Z
const std::string kVerifier(43, 'v');

json import_body() { return {{"account_id", "open_alice"}, {"refresh_token", "rft.secret-imported-1"}}; }

TEST(CodeGrantRequest, TakesTheCodeAndOptionallyRedirectUriAndVerifier) {
  auto r = code_grant_from_request({{"code", "dyc_abc"}});
  EXPECT_EQ(r.code, "dyc_abc");
  EXPECT_EQ(r.redirect_uri, "");
  EXPECT_EQ(r.code_verifier, "");
  // A mobile app's own scheme and Google's "postmessage" are redirect URIs too.
  r = code_grant_from_request(
      {{"code", "4/0Ab"}, {"redirect_uri", "com.example.app:/oauth2redirect"}, {"code_verifier", kVerifier}});
  EXPECT_EQ(r.redirect_uri, "com.example.app:/oauth2redirect");
  EXPECT_EQ(r.code_verifier, kVerifier);
  EXPECT_EQ(code_grant_from_request({{"code", "c"}, {"redirect_uri", "postmessage"}, {"code_verifier", nullptr}})
                .redirect_uri,
            "postmessage");
}

TEST(CodeGrantRequest, MissingWrongOrUnknownFieldsAreRefusedNamingThem) {
  const std::vector<std::pair<json, std::string>> cases = {
      {json::object(), "code: is required"},
      {{{"code", ""}}, "code: must not be empty"},
      {{{"code", 42}}, "code: must be a string"},
      {{{"code", "c"}, {"redirect_uri", 1}}, "redirect_uri: must be a string"},
      {{{"code", "c"}, {"state", "x"}}, "state: unknown field"},
      {{{"code", "c"}, {"code_verifier", "short"}}, "code_verifier: must be 43 to 128"},
      {{{"code", "c"}, {"code_verifier", std::string(129, 'v')}}, "code_verifier:"},
      {{{"code", "c"}, {"code_verifier", std::string(42, 'v') + "+"}}, "code_verifier: must be 43 to 128"},
      {{{"code", "c"}, {"redirect_uri", "https://x/\r\nSet-Cookie: a"}}, "redirect_uri: must not contain control"},
  };
  for (const auto& [body, prefix] : cases) {
    const json& request = body;  // clang 14 (the ThreadSanitizer build) cannot capture a structured binding
    const auto e = error_of([&] { code_grant_from_request(request); });
    EXPECT_EQ(e.status(), 400) << body.dump();
    EXPECT_EQ(e.code(), "invalid_field") << body.dump();
    EXPECT_EQ(std::string(e.what()).rfind(prefix, 0), 0U) << body.dump() << " -> " << e.what();
  }
  for (const json& body : {json::array(), json("code"), json(nullptr)}) {
    EXPECT_EQ(error_of([&] { code_grant_from_request(body); }).code(), "invalid_json");
  }
}

TEST(CodeGrantRequest, OverlongOrControlCharacterCodesAreRefusedWithoutQuotingThem) {
  for (const std::string& code : {"secret-code-" + std::string(kMaxCodeLength, 'c'), std::string("secret-code\n1")}) {
    const auto e = error_of([&] { code_grant_from_request({{"code", code}}); });
    EXPECT_EQ(e.code(), "invalid_field");
    EXPECT_EQ(std::string(e.what()).find("secret-code"), std::string::npos) << e.what();
  }
  EXPECT_TRUE(valid_code_verifier(std::string(128, 'a')));
  EXPECT_TRUE(valid_code_verifier("abcdefghijklmnopqrstuvwxyzABCDEFGHIJ0123-._~"));
  EXPECT_FALSE(valid_code_verifier(std::string(43, ' ')));
}

TEST(ImportGrantRequest, TakesAccountRefreshTokenAndOptionallyExpiryAndScopes) {
  auto r = import_grant_from_request(import_body(), kNow);
  EXPECT_EQ(r.account_id, "open_alice");
  EXPECT_EQ(r.refresh_token, "rft.secret-imported-1");
  EXPECT_FALSE(r.refresh_expires_at.has_value());
  EXPECT_TRUE(r.scopes.empty());
  json body = import_body();
  body["refresh_expires_at"] = "2030-04-01T08:00:00+08:00";
  body["scopes"] = {"user_info", "video.list"};
  r = import_grant_from_request(body, kNow);
  ASSERT_TRUE(r.refresh_expires_at.has_value());
  EXPECT_EQ(format_time(*r.refresh_expires_at), "2030-04-01T00:00:00Z");
  EXPECT_EQ(r.scopes, (std::vector<std::string>{"user_info", "video.list"}));
  body["refresh_expires_at"] = nullptr;
  body["scopes"] = nullptr;
  EXPECT_FALSE(import_grant_from_request(body, kNow).refresh_expires_at.has_value());
}

TEST(ImportGrantRequest, EveryFieldIsCheckedStrictly) {
  const std::vector<std::pair<std::string, json>> cases = {
      {"account_id", nullptr},
      {"account_id", ""},
      {"account_id", 7},
      {"account_id", std::string(kMaxAccountIdLength + 1, 'a')},
      {"account_id", "a\tb"},
      {"refresh_token", nullptr},
      {"refresh_token", ""},
      {"refresh_token", json::array()},
      {"refresh_expires_at", 1'900'000'000},
      {"refresh_expires_at", "2030-04-01"},
      {"refresh_expires_at", "2030-04-01T08:00:00"},
      {"refresh_expires_at", "2030-02-30T08:00:00Z"},
      {"refresh_expires_at", "2030-04-01 08:00:00Z"},
      {"refresh_expires_at", "2030-04-01T25:00:00Z"},
      {"refresh_expires_at", "2030-04-01T08:00:00Zjunk"},
      {"refresh_expires_at", "tomorrow"},
      {"refresh_expires_at", "2030-03-17T17:46:40Z"},  // = now: already dead
      {"refresh_expires_at", "2020-01-01T00:00:00Z"},
      {"scopes", "user_info"},
      {"scopes", json{"a b"}},
      {"scopes", json{1}},
  };
  for (const auto& [field, value] : cases) {
    json body = import_body();
    if (value.is_null()) {
      body.erase(field);
    } else {
      body[field] = value;
    }
    const auto e = error_of([&] { import_grant_from_request(body, kNow); });
    EXPECT_EQ(e.status(), 400) << field << "=" << value.dump();
    EXPECT_EQ(std::string(e.what()).rfind(field + ":", 0), 0U) << field << "=" << value.dump() << " -> " << e.what();
  }
  json body = import_body();
  body["grant_id"] = 3;
  EXPECT_STREQ(error_of([&] { import_grant_from_request(body, kNow); }).what(), "grant_id: unknown field");
  body = import_body();
  body["access_token"] = "at";
  EXPECT_STREQ(error_of([&] { import_grant_from_request(body, kNow); }).what(), "access_token: unknown field");
  for (const json& bad : {json::array(), json(1), json(nullptr)}) {
    EXPECT_EQ(error_of([&] { import_grant_from_request(bad, kNow); }).code(), "invalid_json");
  }
}

TEST(ImportGrantRequest, TheRefreshTokenIsNeverQuotedBack) {
  for (const std::string& token :
       {"rft.secret-" + std::string(kMaxImportedTokenLength, 't'), std::string("rft.secret-\x01")}) {
    json body = import_body();
    body["refresh_token"] = token;
    const auto e = error_of([&] { import_grant_from_request(body, kNow); });
    EXPECT_EQ(std::string(e.what()).rfind("refresh_token:", 0), 0U) << e.what();
    EXPECT_EQ(std::string(e.what()).find("rft.secret"), std::string::npos) << e.what();
  }
}

TEST(Iso8601, ZonesAndFractionsAreHonouredAndImpossibleTimesRefused) {
  EXPECT_EQ(parse_iso8601("2027-01-31T12:00:00Z"), from_unix(1'801'396'800));
  EXPECT_EQ(parse_iso8601("2027-01-31T20:00:00+08:00"), from_unix(1'801'396'800));
  EXPECT_EQ(parse_iso8601("2027-01-31T07:30:00-04:30"), from_unix(1'801'396'800));
  EXPECT_EQ(parse_iso8601("2027-01-31t12:00:00.123456z"), from_unix(1'801'396'800));
  EXPECT_EQ(parse_iso8601("2028-02-29T00:00:00Z"), from_unix(1'835'395'200));  // a leap day
  EXPECT_EQ(parse_iso8601("2200-12-31T23:59:59Z"), from_unix(7'289'654'399));  // the last year taken
  for (const char* bad : {"2027-02-29T00:00:00Z", "2027-13-01T00:00:00Z", "2027-01-31T12:00:60Z", "2027-01-31T12:00Z",
                          "2027-01-31T12:00:00", "2027-01-31T12:00:00+0800", "2027-01-31T12:00:00+24:00",
                          "2027-01-31T12:00:00.Z", "27-01-31T12:00:00Z", "2027-01-31T12:00:00Z ", "",
                          "4062-01-31T20:00:00+08:00", "2201-01-01T00:00:00Z", "1969-12-31T23:59:59Z"}) {
    EXPECT_FALSE(parse_iso8601(bad).has_value()) << bad;
  }
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
