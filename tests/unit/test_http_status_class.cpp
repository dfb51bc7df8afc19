// One rule for what an HTTP status says (platforms/platform_util classify_http_status), pinned where the
// ladders used to disagree: 408 is the server giving up on us, so every platform retries it.
#include <gtest/gtest.h>

#include "net/http_client.hpp"
#include "platforms/douyin_renewal.hpp"
#include "platforms/spec_platform.hpp"
#include "platforms/specs.hpp"
#include "platforms/oauth2_platform.hpp"
#include "platforms/platform_util.hpp"
#include "platforms/wechat_platform.hpp"

namespace mediax {
namespace {

using platform_util::classify_http_status;
using platform_util::HttpStatusClass;

const TimePoint kNow = from_unix(1'800'000'000);

HttpClientResponse answer(int status, std::string body) {
  HttpClientResponse r;
  r.status = status;
  r.body = std::move(body);
  return r;
}

TEST(HttpStatusClass, SortsEveryStatusOnce) {
  EXPECT_EQ(classify_http_status(0), HttpStatusClass::no_answer);
  EXPECT_EQ(classify_http_status(200), HttpStatusClass::answered);
  EXPECT_EQ(classify_http_status(302), HttpStatusClass::wrong_url);
  EXPECT_EQ(classify_http_status(400), HttpStatusClass::other);
  EXPECT_EQ(classify_http_status(401), HttpStatusClass::credentials_refused);
  EXPECT_EQ(classify_http_status(403), HttpStatusClass::credentials_refused);
  EXPECT_EQ(classify_http_status(404), HttpStatusClass::wrong_url);
  EXPECT_EQ(classify_http_status(405), HttpStatusClass::wrong_url);
  EXPECT_EQ(classify_http_status(408), HttpStatusClass::server_trouble);
  EXPECT_EQ(classify_http_status(429), HttpStatusClass::rate_limited);
  EXPECT_EQ(classify_http_status(500), HttpStatusClass::server_trouble);
  EXPECT_EQ(classify_http_status(503), HttpStatusClass::server_trouble);
}

TEST(HttpStatusClass, TheStatusAloneDecidesForNoAnswerRateLimitsAndServerTrouble) {
  for (int status : {0, 408, 429, 500, 502}) EXPECT_TRUE(platform_util::status_decides(status)) << status;
  for (int status : {200, 302, 400, 401, 404}) EXPECT_FALSE(platform_util::status_decides(status)) << status;
}

TEST(HttpStatusClass, A408IsRetriedByTheGenericLadder) {
  const Outcome o = platform_util::http_failure(answer(408, ""), "the token endpoint", kNow);
  EXPECT_EQ(o.kind, OutcomeKind::retry_later);
  EXPECT_EQ(o.code, "http_408");
  EXPECT_EQ(o.http_status, 408);
}

TEST(HttpStatusClass, A408IsRetriedByOAuth2WhateverErrorCodeItsBodyCarries) {
  // The same body on a 400 means the refresh token is gone: the status class is what differs.
  const std::string body = R"({"error":"invalid_grant"})";
  EXPECT_EQ(oauth2::parse_token_response(answer(400, body), oauth2::Flow::refresh_token, kNow).kind,
            OutcomeKind::needs_reauth);
  const Outcome o = oauth2::parse_token_response(answer(408, body), oauth2::Flow::refresh_token, kNow);
  EXPECT_EQ(o.kind, OutcomeKind::retry_later);
  EXPECT_EQ(o.http_status, 408);
}

TEST(HttpStatusClass, A408IsRetriedByDouyinAndWeChatBeforeTheirBodiesAreRead) {
  const std::string body = R"({"errcode":40001,"errmsg":"invalid credential"})";
  const Outcome wechat = wechat::parse_response(answer(408, body), wechat::Flow::refresh_token, kNow);
  EXPECT_EQ(wechat.kind, OutcomeKind::retry_later);
  EXPECT_EQ(wechat.code, "http_408");
  const Outcome douyin =
      spec::read_answer(specs::douyin(), spec::Call::refresh, *specs::douyin().refresh, answer(408, body), kNow, {});
  EXPECT_EQ(douyin.kind, OutcomeKind::retry_later);
  EXPECT_EQ(douyin.code, "http_408");
}

}  // namespace
}  // namespace mediax
