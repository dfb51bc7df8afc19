#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include "platforms/platform_util.hpp"

using namespace mediax;
using nlohmann::json;
namespace pu = mediax::platform_util;

TEST(PlatformUtilJson, IntegersComeAsNumbersOrStrings) {
  json j = {{"a", 10010}, {"b", "28003018"}, {"c", " 0 "}, {"d", "+7"}, {"e", 3.0},
            {"f", 2.5},   {"g", "12x"},      {"h", true},  {"i", ""},   {"k", -1}};
  EXPECT_EQ(pu::int_member(j, "a"), 10010);
  EXPECT_EQ(pu::int_member(j, "b"), 28003018);
  EXPECT_EQ(pu::int_member(j, "c"), 0);
  EXPECT_EQ(pu::int_member(j, "d"), 7);
  EXPECT_EQ(pu::int_member(j, "e"), 3);
  EXPECT_EQ(pu::int_member(j, "k"), -1);
  for (const char* bad : {"f", "g", "h", "i", "missing"}) EXPECT_FALSE(pu::int_member(j, bad).has_value()) << bad;
  EXPECT_FALSE(pu::int_member(json::array(), "a").has_value());
}

TEST(PlatformUtilJson, LifetimesArePositiveAndClamped) {
  json j = {{"a", 7200},   {"b", "1296000"}, {"c", 0}, {"d", "-5"}, {"e", "99999999999999999999"},
            {"f", 3599.9}, {"g", "soon"}};
  EXPECT_EQ(pu::seconds_member(j, "a"), Seconds(7200));
  EXPECT_EQ(pu::seconds_member(j, "b"), Seconds(1296000));
  EXPECT_FALSE(pu::seconds_member(j, "c").has_value());
  EXPECT_FALSE(pu::seconds_member(j, "d").has_value());
  EXPECT_EQ(pu::seconds_member(j, "e"), Seconds(pu::kMaxSeconds));
  EXPECT_EQ(pu::seconds_member(j, "f"), Seconds(3599));
  EXPECT_FALSE(pu::seconds_member(j, "g").has_value());
}

TEST(PlatformUtilText, MessagesAreCleanShortAndScrubbed) {
  EXPECT_EQ(pu::safe_text("bad\ntoken SECRET-123\x01", {"SECRET-123"}), "bad token [redacted] ");
  std::string long_text(400, 'x');
  EXPECT_EQ(pu::clean_text(long_text).size(), 303u);
  // Never cut inside a UTF-8 sequence.
  std::string chinese;
  for (int i = 0; i < 150; ++i) chinese += "过";
  std::string cut = pu::clean_text(chinese);
  EXPECT_EQ((cut.size() - 3) % 3, 0u);
}

TEST(PlatformUtilUrl, AppendsQueriesAndJoinsPaths) {
  EXPECT_EQ(pu::append_query("https://h/p", {{"a", "1 2"}, {"b", "x/y"}}), "https://h/p?a=1%202&b=x%2Fy");
  EXPECT_EQ(pu::append_query("https://h/p?t=1#frag", {{"a", "1"}}), "https://h/p?t=1&a=1");
  EXPECT_EQ(pu::append_query("https://h/p?", {{"a", "1"}}), "https://h/p?a=1");
  EXPECT_EQ(pu::join_url("http://127.0.0.1:1/api//", "/cgi-bin/token"), "http://127.0.0.1:1/api/cgi-bin/token");
  EXPECT_EQ(pu::join({"a", "", "b"}, ","), "a,b");
}

TEST(PlatformUtilHttp, FailuresWithoutAPlatformAnswerAreClassified) {
  const TimePoint now = from_unix(1780000000);
  auto answer = [&](int status, std::string body = "", HeaderList headers = {}) {
    ClientResponse r;
    r.status = status;
    r.body = std::move(body);
    r.headers = std::move(headers);
    return pu::http_failure(r, "X's endpoint", now);
  };
  ClientResponse none;
  none.error = "tls";
  EXPECT_EQ(pu::http_failure(none, "X", now).code, "transport_tls");
  EXPECT_EQ(answer(429, "", {{"Retry-After", "7"}}).retry_after, Seconds(7));
  EXPECT_EQ(answer(429).kind, OutcomeKind::rate_limited);
  EXPECT_EQ(answer(503).kind, OutcomeKind::retry_later);
  EXPECT_EQ(answer(401).kind, OutcomeKind::app_misconfigured);
  EXPECT_EQ(answer(404).kind, OutcomeKind::app_misconfigured);
  EXPECT_EQ(answer(302).kind, OutcomeKind::app_misconfigured);
  auto garbage = answer(200, "<html>");
  EXPECT_EQ(garbage.kind, OutcomeKind::retry_later);
  EXPECT_EQ(garbage.code, "bad_response");
  EXPECT_EQ(garbage.message.find("<html>"), std::string::npos);
}

TEST(PlatformUtilTime, NextMidnightAtAnOffset) {
  // 2026-05-01T15:59:00Z: 23:59 in Beijing, 15:59 in UTC.
  const TimePoint t = from_unix(1777651140);
  EXPECT_EQ(pu::until_next_midnight(t, 8), Seconds(60));
  EXPECT_EQ(pu::until_next_midnight(t, 0), Seconds(8 * 3600 + 60));
  EXPECT_EQ(pu::until_next_midnight(t, -5), Seconds(13 * 3600 + 60));
  EXPECT_EQ(pu::until_next_midnight(from_unix(1777593600), 0), Seconds(86400)) << "at midnight: a whole day";
}

TEST(PlatformUtilOptions, StrictReadersNameTheOption) {
  json o = {{"n", 5}, {"s", "token"}, {"b", true}, {"bad_n", "5"}, {"bad_b", 1}};
  EXPECT_EQ(pu::unknown_option(o, {"n", "s", "b", "bad_n", "bad_b"}), std::nullopt);
  EXPECT_EQ(pu::unknown_option(o, {"n", "b", "bad_n", "bad_b"}).value_or(""), "options.s: unknown option");
  EXPECT_EQ(pu::unknown_option(json::array(), {}).value_or(""), "options: must be an object");
  EXPECT_EQ(pu::unknown_option(json(), {}), std::nullopt);
  std::int64_t n = 1;
  EXPECT_EQ(pu::integer_option(o, "n", 0, 10, n), std::nullopt);
  EXPECT_EQ(n, 5);
  EXPECT_NE(pu::integer_option(o, "n", 6, 10, n), std::nullopt);
  EXPECT_NE(pu::integer_option(o, "bad_n", 0, 10, n).value_or("").find("options.bad_n"), std::string::npos);
  EXPECT_EQ(pu::integer_option(o, "absent", 0, 10, n), std::nullopt);
  EXPECT_EQ(n, 5);
  std::string s = "stable_token";
  EXPECT_EQ(pu::choice_option(o, "s", {"stable_token", "token"}, s), std::nullopt);
  EXPECT_EQ(s, "token");
  EXPECT_EQ(pu::choice_option(o, "s", {"a", "b"}, s).value_or(""), "options.s: must be a or b");
  bool b = false;
  EXPECT_EQ(pu::bool_option(o, "b", b), std::nullopt);
  EXPECT_TRUE(b);
  EXPECT_EQ(pu::bool_option(o, "bad_b", b).value_or(""), "options.bad_b: must be true or false");
}
