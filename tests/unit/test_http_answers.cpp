// What both HTTP listeners answer alike (daemon/http/answers.hpp).
#include <gtest/gtest.h>

#include <stdexcept>

#include "http/answers.hpp"
#include "service/api_error.hpp"
#include "store/store.hpp"

namespace mediax {
namespace {

template <typename E>
ErrorAnswer answer_for(const E& e) {
  try {
    throw e;
  } catch (const std::exception&) {
    return error_for_current_exception("GET", "/v1/grants/7/token", " (test)");
  }
}

TEST(HttpAnswers, GrantIdsArePositiveDecimalIntegersOnly) {
  EXPECT_EQ(grant_id_of("42"), 42);
  EXPECT_EQ(grant_id_of("9223372036854775807"), INT64_C(9223372036854775807));
  for (const char* bad : {"", "0", "-1", "+1", "1x", " 1", "1 ", "0x10", "9223372036854775808", "abc"}) {
    EXPECT_FALSE(grant_id_of(bad).has_value()) << bad;
  }
  EXPECT_EQ(parse_grant_id("17"), 17);
  try {
    parse_grant_id("abc");
    FAIL() << "no ApiError";
  } catch (const ApiError& e) {
    EXPECT_EQ(e.status(), 404);
    EXPECT_EQ(e.code(), "not_found");
    EXPECT_STREQ(e.what(), "no grant 'abc'");
  }
}

TEST(HttpAnswers, ErrorBodiesMergeDetailsAndSurviveBytesThatAreNotUtf8) {
  EXPECT_EQ(error_body("x", "y"), (nlohmann::json{{"error", "x"}, {"message", "y"}}));
  EXPECT_EQ(error_body("x", "y", {{"platform_code", 40001}}),
            (nlohmann::json{{"error", "x"}, {"message", "y"}, {"platform_code", 40001}}));
  EXPECT_EQ(error_body("x", "y", nlohmann::json::array({1})), (nlohmann::json{{"error", "x"}, {"message", "y"}}));
  EXPECT_EQ(json_text(error_body("not_found", "no app '\xff'")), "{\"error\":\"not_found\",\"message\":\"no app '\xef\xbf\xbd'\"}");
}

TEST(HttpAnswers, ExceptionsBecomeTheirErrorAnswers) {
  const auto api = answer_for(ApiError(409, "conflict", "already there", {{"name", "a"}}));
  EXPECT_EQ(api.status, 409);
  EXPECT_EQ(api.body, (nlohmann::json{{"error", "conflict"}, {"message", "already there"}, {"name", "a"}}));
  const auto store = answer_for(StoreError("connection refused"));
  EXPECT_EQ(store.status, 503);
  EXPECT_EQ(store.body.value("error", ""), "database_unavailable");
  EXPECT_EQ(store.body.value("message", "").find("refused"), std::string::npos) << "the cause stays in the log";
  const auto other = answer_for(std::logic_error("secret detail"));
  EXPECT_EQ(other.status, 500);
  EXPECT_EQ(other.body.value("error", ""), "internal_error");
  EXPECT_EQ(other.body.dump().find("secret"), std::string::npos);
}

TEST(HttpAnswers, StaleWhenTheDatabaseIsUnreachableOrCannotBeAsked) {
  EXPECT_FALSE(serving_stale({}));
  EXPECT_FALSE(serving_stale([] { return true; }));
  EXPECT_TRUE(serving_stale([] { return false; }));
  EXPECT_TRUE(serving_stale([]() -> bool { throw std::runtime_error("probe failed"); }));
}

}  // namespace
}  // namespace mediax
