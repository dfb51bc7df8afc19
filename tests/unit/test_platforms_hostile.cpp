// Hostile platform answers found by the fuzz targets (tests/fuzz): what every parser must refuse
// before it reaches the store or a reader. Tokens are RFC 6749 VSCHARs; text stored in PostgreSQL has
// no NUL; numbers far outside any range are not converted blindly.
#include <future>
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include "fiber/carriers.hpp"
#include "platforms/douyin_renewal.hpp"
#include "platforms/spec_platform.hpp"
#include "platforms/specs.hpp"
#include "platforms/google_platform.hpp"
#include "platforms/oauth2_platform.hpp"
#include "platforms/platform_util.hpp"
#include "platforms/wechat_platform.hpp"

namespace mediax {
namespace {

using nlohmann::json;

const TimePoint kNow = from_unix(1'900'000'000);

HttpClientResponse answer(const json& body) {
  HttpClientResponse r;
  r.status = 200;
  r.body = body.dump();
  return r;
}

// Each platform's parser of a grant's token answer, on a body in that platform's shape.
std::vector<std::pair<std::string, Outcome>> parse_everywhere(const json& token_fields) {
  std::vector<std::pair<std::string, Outcome>> out;
  out.emplace_back("oauth2", oauth2::parse_token_response(answer(token_fields), oauth2::Flow::refresh_token, kNow));
  out.emplace_back("google", google::parse_token_response(answer(token_fields), oauth2::Flow::refresh_token, kNow));
  json douyin_body = {{"data", token_fields}, {"message", "success"}};
  douyin_body["data"]["error_code"] = 0;
  out.emplace_back("douyin", spec::read_answer(specs::douyin(), spec::Call::refresh, *specs::douyin().refresh,
                                               answer(douyin_body), kNow, {}));
  out.emplace_back("wechat", wechat::parse_response(answer(token_fields), wechat::Flow::refresh_token, kNow));
  return out;
}

TEST(HostileAnswers, AValidTokenIsStillASuccessEverywhere) {
  for (const auto& [platform, o] : parse_everywhere({{"access_token", "act.A-b_c~9+/="}, {"expires_in", 60}})) {
    EXPECT_TRUE(o.ok()) << platform << ": " << o.message;
  }
}

TEST(HostileAnswers, TokensWithCharactersOutsideVscharAreBadResponses) {
  const std::vector<std::string> bads = {std::string("tok\nen"), std::string("tok\0en", 6), std::string("t\xc3\xa9k"),
                                         std::string("tok\x7f")};
  for (const std::string& bad : bads) {
    for (const auto& [platform, o] : parse_everywhere({{"access_token", bad}})) {
      EXPECT_EQ(o.kind, OutcomeKind::retry_later) << platform;
      EXPECT_EQ(o.code, "bad_response") << platform;
      EXPECT_NE(o.message.find("access_token"), std::string::npos) << platform << ": " << o.message;
      EXPECT_EQ(o.message.find(bad), std::string::npos) << platform << ": the token is quoted";
    }
    for (const auto& [platform, o] : parse_everywhere({{"access_token", "ok"}, {"refresh_token", bad}})) {
      EXPECT_EQ(o.code, "bad_response") << platform;
    }
  }
}

TEST(HostileAnswers, NulInAccountIdsScopesOrExtraIsABadResponse) {
  const std::string nul("a\0b", 3);
  for (const auto& [platform, o] :
       parse_everywhere({{"access_token", "ok"}, {"open_id", nul}, {"openid", nul}, {"sub", nul}})) {
    EXPECT_EQ(o.code, "bad_response") << platform;
  }
  for (const auto& [platform, o] : parse_everywhere({{"access_token", "ok"}, {"scope", "read " + nul}})) {
    EXPECT_EQ(o.code, "bad_response") << platform;
  }
  const auto o = wechat::parse_response(answer({{"access_token", "ok"}, {"openid", "o"}, {"unionid", nul}}),
                                        wechat::Flow::authorization_code, kNow);
  EXPECT_EQ(o.code, "bad_response");
}

TEST(HostileOptions, UnknownOptionNamesAreQuotedWithoutControlCharacters) {
  // Found by fuzz_douyin: an option named "de\u0000ion" put a NUL into the error message.
  const json options = {{std::string("de\0ion", 6), 1}};
  EXPECT_EQ(platform_util::unknown_option(options, {"max_renewals"}).value_or(""), "options.de ion: unknown option");
  douyin::Options parsed;
  EXPECT_EQ(douyin::parse_options(options, parsed).value_or(""), "options.de ion: unknown option");
}

TEST(HostileAnswers, LifetimesFarOutOfRangeAreAbsentOrClamped) {
  // -1e300 and 1e300 overflow int64: converting them was undefined behaviour (UBSan in the fuzz build).
  EXPECT_FALSE(platform_util::seconds_member(json{{"e", -1e300}}, "e"));
  EXPECT_FALSE(platform_util::seconds_member(json{{"e", -0.5}}, "e"));
  EXPECT_EQ(platform_util::seconds_member(json{{"e", 1e300}}, "e"), Seconds(platform_util::kMaxSeconds));
  EXPECT_EQ(platform_util::seconds_member(json{{"e", 59.9}}, "e"), Seconds(59));
}

// A token answer nesting 200,000 levels deep: parsing is iterative, but copying or dumping such a
// document recurses past any stack, and a refresh fiber's is 256 KiB. Every parser refuses it as a
// bad response, on a fiber too.
TEST(HostileAnswers, DeeplyNestedAnswersAreBadResponsesEvenOnAFiber) {
  const std::string deep = std::string(200'000, '[') + std::string(200'000, ']');
  const std::string body = R"({"access_token":"ok","expires_in":60,"extra":)" + deep + "}";
  HttpClientResponse r;
  r.status = 200;
  r.body = body;
  fiber::AsioCarrier carrier;
  std::promise<std::vector<Outcome>> outcomes;
  fiber::spawn(carrier, [&] {
    std::vector<Outcome> out;
    out.push_back(oauth2::parse_token_response(r, oauth2::Flow::refresh_token, kNow));
    out.push_back(google::parse_token_response(r, oauth2::Flow::refresh_token, kNow));
    out.push_back(wechat::parse_response(r, wechat::Flow::refresh_token, kNow));
    HttpClientResponse d = r;
    d.body = R"({"message":"success","data":{"error_code":0,"access_token":"ok","x":)" + deep + "}}";
    out.push_back(spec::read_answer(specs::douyin(), spec::Call::refresh, *specs::douyin().refresh, d, kNow, {}));
    outcomes.set_value(std::move(out));
  });
  for (const auto& o : outcomes.get_future().get()) {
    EXPECT_FALSE(o.ok());
    EXPECT_EQ(o.kind, OutcomeKind::retry_later) << o.code << ": " << o.message;
  }
  // 32 levels are still an answer (real ones nest three or four).
  EXPECT_TRUE(platform_util::parse_object("{\"a\":" + std::string(31, '[') + std::string(31, ']') + "}").has_value());
  EXPECT_FALSE(platform_util::parse_object("{\"a\":" + std::string(32, '[') + std::string(32, ']') + "}").has_value());
}

}  // namespace
}  // namespace mediax
