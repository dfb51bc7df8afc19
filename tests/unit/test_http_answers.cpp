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
  EXPECT_EQ(json_text(error_body("not_found", "no app '\xff'")),
            "{\"error\":\"not_found\",\"message\":\"no app '\xef\xbf\xbd'\"}");
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

TEST(HttpAnswers, AServicesApiErrorValueIsAnsweredAsAThrownOneIs) {
  const ApiError e(422, "code_refused", "the platform refused the code", {{"platform_code", "40029"}});
  const auto value = error_answer(e);
  const auto thrown = answer_for(e);
  EXPECT_EQ(value.status, 422);
  EXPECT_EQ(value.body,
            (nlohmann::json{
                {"error", "code_refused"}, {"message", "the platform refused the code"}, {"platform_code", "40029"}}));
  EXPECT_EQ(thrown.status, value.status);
  EXPECT_EQ(thrown.body, value.body);
}

TEST(ServiceOutcomes, StoreFailuresAndParserErrorsBecomeValues) {
  const auto down = database_error(StoreError("connection refused"));
  EXPECT_EQ(down.status(), 503);
  EXPECT_EQ(down.code(), "database_unavailable");
  EXPECT_EQ(std::string(down.what()).find("refused"), std::string::npos) << "the cause stays in the log";
  const auto unreadable = database_error(SecretUnreadableError("apps row 3: client_secret does not decrypt"));
  EXPECT_EQ(unreadable.status(), 500);
  EXPECT_EQ(unreadable.code(), "secret_unreadable");

  const Expected<int> ok = parsed([] { return 7; });
  ASSERT_TRUE(ok);
  EXPECT_EQ(*ok, 7);
  const Expected<int> bad = parsed([]() -> int { throw ApiError(400, "invalid_field", "name: missing"); });
  ASSERT_FALSE(bad);
  EXPECT_EQ(bad.error().status(), 400);
  EXPECT_EQ(bad.error().code(), "invalid_field");
  EXPECT_THROW(parsed([]() -> int { throw std::logic_error("a bug"); }), std::logic_error)
      << "only ApiError is a verdict";
}

TEST(HttpAnswers, StaleWhenTheDatabaseIsUnreachableOrCannotBeAsked) {
  EXPECT_FALSE(serving_stale({}));
  EXPECT_FALSE(serving_stale([] { return true; }));
  EXPECT_TRUE(serving_stale([] { return false; }));
  EXPECT_TRUE(serving_stale([]() -> bool { throw std::runtime_error("probe failed"); }));
}

}  // namespace
}  // namespace mediax
