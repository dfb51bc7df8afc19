// HttpSession (http/http_session.hpp): the protocol of one connection, fed bytes and times by hand.
#include <gtest/gtest.h>

#include <string>

#include "http/http_session.hpp"
#include "support/manual_time_source.hpp"

namespace mediax {
namespace {

using Next = HttpSession::Next;
using namespace std::chrono_literals;

SessionLimits small_limits() {
  SessionLimits l;
  l.header_timeout = 10s;
  l.body_timeout = 30s;
  l.idle_timeout = 5s;
  l.max_head_bytes = 1024;
  l.max_body_bytes = 100;
  return l;
}

struct Fixture : ::testing::Test {
  ManualTimeSource time;
  HttpSession session{small_limits(), time.monotonic()};

  Next feed(const std::string& bytes) {
    session.received(bytes, time.monotonic());
    return session.advance(time.monotonic());
  }
  // The session's output so far, taken.
  std::string take() {
    std::string out;
    out.swap(session.output());
    return out;
  }
  void answer(int status, const std::string& body) {
    HttpResponse r;
    r.status = status;
    r.content_type = "text/plain";
    r.body = body;
    session.respond(r, time.monotonic());
  }
};

using HttpSessionTest = Fixture;

TEST_F(HttpSessionTest, GetIsParsedWithPathQueryAndHeaders) {
  ASSERT_EQ(feed("GET /v1/apps/sh%20op/token?x=1&y=%41 HTTP/1.1\r\nHost: h\r\nAuthorization: Bearer k\r\n\r\n"),
            Next::request);
  const auto& req = session.request();
  EXPECT_EQ(req.method, "GET");
  EXPECT_EQ(req.target, "/v1/apps/sh%20op/token?x=1&y=%41");
  EXPECT_EQ(req.path, "/v1/apps/sh op/token");
  EXPECT_EQ(req.query, "x=1&y=%41");
  EXPECT_EQ(req.header("authorization"), "Bearer k");
  EXPECT_EQ(req.headers.size(), 2u);
  EXPECT_EQ(req.body, "");
  answer(200, "hello");
  EXPECT_EQ(take(), "HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nContent-Length: 5\r\n\r\nhello");
  EXPECT_EQ(session.advance(time.monotonic()), Next::read);
  EXPECT_FALSE(session.closing());
}

TEST_F(HttpSessionTest, HeadArrivingInPiecesWaitsForTheRest) {
  EXPECT_EQ(feed("GET /healthz HT"), Next::read);
  EXPECT_EQ(feed("TP/1.1\r\nHost:"), Next::read);
  EXPECT_EQ(feed(" h\r\n\r\n"), Next::request);
  EXPECT_EQ(session.request().path, "/healthz");
}

TEST_F(HttpSessionTest, PostWithoutLengthOrChunkingHasAnEmptyBody) {
  // RFC 9112 §6.3: curl -X POST sends neither.
  ASSERT_EQ(feed("POST /v1/apps/shop/refresh HTTP/1.1\r\nHost: h\r\n\r\n"), Next::request);
  EXPECT_EQ(session.request().method, "POST");
  EXPECT_EQ(session.request().body, "");
}

TEST_F(HttpSessionTest, BodyByContentLength) {
  EXPECT_EQ(feed("PUT /x HTTP/1.1\r\nContent-Length: 11\r\n\r\nhello"), Next::read);
  EXPECT_EQ(session.phase(), HttpSession::Phase::body);
  ASSERT_EQ(feed(" world"), Next::request);
  EXPECT_EQ(session.request().body, "hello world");
}

TEST(HttpSession, ABodyLargerThanTheHeadLimitArrivingWithItsHead) {
  // Only the head counts against max_head_bytes, however much of the body came in the same read.
  ManualTimeSource time;
  auto limits = small_limits();
  limits.max_body_bytes = 5000;
  for (const std::string& framing :
       {std::string("Content-Length: 3000\r\n\r\n") + std::string(3000, 'b'),
        "Transfer-Encoding: chunked\r\n\r\nbb8\r\n" + std::string(3000, 'b') + "\r\n0\r\n\r\n"}) {
    HttpSession s(limits, time.monotonic());
    s.received("POST /x HTTP/1.1\r\n" + framing, time.monotonic());
    ASSERT_EQ(s.advance(time.monotonic()), Next::request) << s.output();
    EXPECT_EQ(s.request().body, std::string(3000, 'b'));
  }
}

TEST_F(HttpSessionTest, PipelinedRequestsAreAnsweredInOrder) {
  ASSERT_EQ(feed("GET /a HTTP/1.1\r\n\r\nPOST /b HTTP/1.1\r\nContent-Length: 2\r\n\r\nxyGET /c HTTP/1.1\r\n\r\n"),
            Next::request);
  EXPECT_EQ(session.request().path, "/a");
  answer(200, "A");
  ASSERT_EQ(session.advance(time.monotonic()), Next::request);
  EXPECT_EQ(session.request().path, "/b");
  EXPECT_EQ(session.request().body, "xy");
  answer(201, "B");
  ASSERT_EQ(session.advance(time.monotonic()), Next::request);
  EXPECT_EQ(session.request().path, "/c");
  answer(404, "C");
  EXPECT_EQ(session.advance(time.monotonic()), Next::read);
  const auto out = take();
  const auto a = out.find("\r\n\r\nA"), b = out.find("\r\n\r\nB"), c = out.find("\r\n\r\nC");
  ASSERT_NE(a, std::string::npos);
  EXPECT_LT(a, b);
  EXPECT_LT(b, c);
  EXPECT_NE(out.find("HTTP/1.1 201 Created"), std::string::npos);
  EXPECT_NE(out.find("HTTP/1.1 404 Not Found"), std::string::npos);
}

TEST_F(HttpSessionTest, NothingIsParsedWhileARequestIsBeingAnswered) {
  ASSERT_EQ(feed("GET /a HTTP/1.1\r\n\r\n"), Next::request);
  EXPECT_EQ(feed("GET /b HTTP/1.1\r\n\r\n"), Next::request);
  EXPECT_EQ(session.request().path, "/a");
  EXPECT_EQ(session.deadline(), MonoTime::max());
}

TEST_F(HttpSessionTest, ExpectContinueGetsHundredContinueBeforeTheBody) {
  EXPECT_EQ(feed("POST /x HTTP/1.1\r\nExpect: 100-continue\r\nContent-Length: 3\r\n\r\n"), Next::read);
  EXPECT_EQ(take(), "HTTP/1.1 100 Continue\r\n\r\n");
  ASSERT_EQ(feed("abc"), Next::request);
  EXPECT_EQ(session.request().body, "abc");
  EXPECT_EQ(take(), "");
}

TEST_F(HttpSessionTest, ExpectContinueWithTheBodyAlreadyHereOrOverTheLimit) {
  ASSERT_EQ(feed("POST /x HTTP/1.1\r\nExpect: 100-continue\r\nContent-Length: 3\r\n\r\nabc"), Next::request);
  EXPECT_EQ(take(), "");  // the client did not wait: no 100
  HttpSession over(small_limits(), time.monotonic());
  over.received("POST /x HTTP/1.1\r\nExpect: 100-continue\r\nContent-Length: 101\r\n\r\n", time.monotonic());
  EXPECT_EQ(over.advance(time.monotonic()), Next::close);
  EXPECT_EQ(over.refused(), 413);
  EXPECT_EQ(over.output().rfind("HTTP/1.1 413 Payload Too Large\r\n", 0), 0u) << over.output();
  EXPECT_NE(over.output().find("\"error\":\"too_large\""), std::string::npos);
  EXPECT_NE(over.output().find("Connection: close\r\n"), std::string::npos);
}

TEST_F(HttpSessionTest, ChunkedBodyIsDechunkedWithinTheLimit) {
  EXPECT_EQ(feed("POST /x HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n"), Next::read);
  ASSERT_EQ(feed("6;ext=1\r\n world\r\n0\r\n\r\n"), Next::request);
  EXPECT_EQ(session.request().body, "hello world");
  HttpSession big(small_limits(), time.monotonic());
  big.received("POST /x HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n60\r\n" + std::string(96, 'a') + "\r\n10\r\n",
               time.monotonic());
  EXPECT_EQ(big.advance(time.monotonic()), Next::close);
  EXPECT_EQ(big.refused(), 413);
}

TEST_F(HttpSessionTest, AnEndlessChunkHeaderIsRefused) {
  EXPECT_EQ(feed("POST /x HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n5;"), Next::read);
  EXPECT_EQ(feed(std::string(70 * 1024, 'a')), Next::close);
  EXPECT_EQ(session.refused(), 400);
}

TEST_F(HttpSessionTest, HeadAnswersWithoutBodyButWithItsLength) {
  ASSERT_EQ(feed("HEAD /healthz HTTP/1.1\r\n\r\n"), Next::request);
  EXPECT_EQ(session.request().method, "HEAD");
  answer(200, "{\"status\":\"ok\"}");
  EXPECT_EQ(take(), "HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nContent-Length: 15\r\n\r\n");
}

TEST_F(HttpSessionTest, ConnectionCloseEndsTheConnectionAfterTheAnswer) {
  ASSERT_EQ(feed("GET / HTTP/1.1\r\nConnection: close\r\n\r\nGET /next HTTP/1.1\r\n\r\n"), Next::request);
  answer(200, "x");
  EXPECT_NE(take().find("Connection: close\r\n"), std::string::npos);
  EXPECT_EQ(session.advance(time.monotonic()), Next::close);
  EXPECT_TRUE(session.closing());
  EXPECT_EQ(session.refused(), 0);
}

TEST_F(HttpSessionTest, AnswerMayCloseTheConnection) {
  ASSERT_EQ(feed("GET / HTTP/1.1\r\n\r\n"), Next::request);
  HttpResponse r;
  r.close = true;
  session.respond(r, time.monotonic());
  EXPECT_EQ(take(), "HTTP/1.1 200 OK\r\nContent-Length: 0\r\nConnection: close\r\n\r\n");
  EXPECT_EQ(session.advance(time.monotonic()), Next::close);
}

TEST_F(HttpSessionTest, Http10ClosesUnlessItAsksForKeepAlive) {
  ASSERT_EQ(feed("GET / HTTP/1.0\r\n\r\n"), Next::request);
  answer(200, "x");
  EXPECT_NE(take().find("Connection: close\r\n"), std::string::npos);
  EXPECT_EQ(session.advance(time.monotonic()), Next::close);

  HttpSession kept(small_limits(), time.monotonic());
  kept.received("GET / HTTP/1.0\r\nConnection: keep-alive\r\n\r\n", time.monotonic());
  ASSERT_EQ(kept.advance(time.monotonic()), Next::request);
  HttpResponse r;
  kept.respond(r, time.monotonic());
  EXPECT_NE(kept.output().find("Connection: keep-alive\r\n"), std::string::npos);
  EXPECT_EQ(kept.advance(time.monotonic()), Next::read);
}

TEST_F(HttpSessionTest, EmptyLinesBeforeARequestAreIgnored) {
  ASSERT_EQ(feed("\r\n\r\nGET /a HTTP/1.1\r\n\r\n"), Next::request);
  EXPECT_EQ(session.request().path, "/a");
}

// One refused request: its status, its error code in the JSON body, and the connection closing.
struct Refusal {
  std::string input;
  int status;
  std::string code;
};

class HttpSessionRefusal : public ::testing::TestWithParam<Refusal> {};

TEST_P(HttpSessionRefusal, IsAnsweredAndCloses) {
  ManualTimeSource time;
  HttpSession s(small_limits(), time.monotonic());
  s.received(GetParam().input, time.monotonic());
  ASSERT_EQ(s.advance(time.monotonic()), Next::close) << GetParam().input.substr(0, 80);
  EXPECT_EQ(s.refused(), GetParam().status);
  const auto& out = s.output();
  EXPECT_EQ(out.rfind("HTTP/1.1 " + std::to_string(GetParam().status) + " ", 0), 0u) << out;
  EXPECT_NE(out.find("Content-Type: application/json\r\n"), std::string::npos);
  EXPECT_NE(out.find("Connection: close\r\n"), std::string::npos);
  EXPECT_NE(out.find("\"error\":\"" + GetParam().code + "\""), std::string::npos) << out;
  EXPECT_EQ(out.find("Bearer"), std::string::npos);
  // Whatever follows is not parsed.
  s.received("GET / HTTP/1.1\r\n\r\n", time.monotonic());
  EXPECT_EQ(s.advance(time.monotonic()), Next::close);
}

INSTANTIATE_TEST_SUITE_P(
    Statuses, HttpSessionRefusal,
    ::testing::Values(
        Refusal{"GARBAGE\r\n\r\n", 400, "bad_request"},
        Refusal{"GET / HTTP/1.1\r\nbad header\r\n\r\n", 400, "bad_request"},
        Refusal{"GET http://example.com/ HTTP/1.1\r\n\r\n", 400, "bad_request"},
        Refusal{"GET /a%zz HTTP/1.1\r\n\r\n", 400, "bad_request"},
        Refusal{"GET /a%00 HTTP/1.1\r\n\r\n", 400, "bad_request"},
        Refusal{"POST / HTTP/1.1\r\nContent-Length: 1\r\nTransfer-Encoding: chunked\r\n\r\n", 400, "bad_request"},
        Refusal{"POST / HTTP/1.1\r\nContent-Length: x\r\n\r\n", 400, "bad_request"},
        Refusal{"POST / HTTP/1.1\r\nContent-Length: 1\r\nContent-Length: 2\r\n\r\n", 400, "bad_request"},
        Refusal{"POST / HTTP/1.1\r\nContent-Length: 101\r\n\r\n", 413, "too_large"},
        Refusal{"GET /" + std::string(2000, 'a') + " HTTP/1.1\r\n\r\n", 414, "uri_too_long"},
        Refusal{"GET /" + std::string(2000, 'a'), 414, "uri_too_long"},
        Refusal{"POST / HTTP/1.1\r\nContent-Encoding: gzip\r\nContent-Length: 1\r\n\r\nx", 415, "unsupported_encoding"},
        Refusal{"GET / HTTP/1.1\r\nAuthorization: Bearer " + std::string(2000, 'k') + "\r\n\r\n", 431,
                "headers_too_large"},
        Refusal{"GET / HTTP/1.1\r\nX: " + std::string(2000, 'k'), 431, "headers_too_large"},
        Refusal{std::string(2000, 'G'), 431, "headers_too_large"},
        Refusal{"POST / HTTP/1.1\r\nTransfer-Encoding: gzip\r\n\r\n", 501, "not_implemented"},
        Refusal{"POST / HTTP/1.1\r\nTransfer-Encoding: gzip, chunked\r\n\r\n", 501, "not_implemented"},
        Refusal{"GET / HTTP/2.0\r\n\r\n", 505, "http_version_not_supported"},
        Refusal{"GET / HTTP/1.x\r\n\r\n", 400, "bad_request"}));

TEST_F(HttpSessionTest, AHeadTrickledFieldByFieldIsCountedWhole) {
  EXPECT_EQ(feed("GET / HTTP/1.1\r\n"), Next::read);
  Next last = Next::read;
  for (int i = 0; i < 100 && last == Next::read; ++i) last = feed("X-Field-" + std::to_string(i) + ": 0123456789\r\n");
  EXPECT_EQ(last, Next::close);
  EXPECT_EQ(session.refused(), 431);
}

TEST_F(HttpSessionTest, AFreshConnectionsHeadIsDueFromTheAccept) {
  const auto opened = time.monotonic();
  EXPECT_EQ(session.deadline(), opened + 10s);
  EXPECT_EQ(session.phase(), HttpSession::Phase::head);
  time.advance(4s);
  EXPECT_EQ(feed("GET / HT"), Next::read);
  EXPECT_EQ(session.deadline(), opened + 10s);  // trickling does not extend it
  time.advance(5s);
  EXPECT_EQ(feed("TP/1.1\r\n"), Next::read);
  EXPECT_EQ(session.deadline(), opened + 10s);
}

TEST_F(HttpSessionTest, IdleThenHeadThenBodyDeadlines) {
  ASSERT_EQ(feed("GET / HTTP/1.1\r\n\r\n"), Next::request);
  EXPECT_EQ(session.deadline(), MonoTime::max());  // no deadline while answered
  time.advance(60s);
  answer(200, "");
  EXPECT_EQ(session.phase(), HttpSession::Phase::idle);
  EXPECT_EQ(session.deadline(), time.monotonic() + 5s);
  time.advance(1s);
  session.sent(time.monotonic());  // the answer left: idle from now
  EXPECT_EQ(session.deadline(), time.monotonic() + 5s);
  time.advance(3s);
  const auto first_byte = time.monotonic();
  EXPECT_EQ(feed("POST /x HTTP/1.1\r\n"), Next::read);
  EXPECT_EQ(session.phase(), HttpSession::Phase::head);
  EXPECT_EQ(session.deadline(), first_byte + 10s);
  time.advance(2s);
  EXPECT_EQ(feed("Content-Length: 5\r\n\r\n"), Next::read);
  EXPECT_EQ(session.phase(), HttpSession::Phase::body);
  EXPECT_EQ(session.deadline(), time.monotonic() + 30s);
}

TEST_F(HttpSessionTest, APipelinedHeadIsDueFromWhenItsTurnCame) {
  ASSERT_EQ(feed("GET /a HTTP/1.1\r\n\r\nGET /b HT"), Next::request);
  time.advance(20s);
  answer(200, "");
  EXPECT_EQ(session.advance(time.monotonic()), Next::read);
  EXPECT_EQ(session.phase(), HttpSession::Phase::head);
  EXPECT_EQ(session.deadline(), time.monotonic() + 10s);
}

TEST(HttpSerialize, FramingAndHeaders) {
  HttpResponse r;
  r.status = 302;
  r.set_header("Location", "/console/");
  r.set_header("X-Split", "a\r\nSet-Cookie: evil=1");  // would split the answer: dropped
  r.set_header("Content-Length", "999");               // the server's: dropped
  EXPECT_EQ(serialize_response(r, Framing{}), "HTTP/1.1 302 Found\r\nContent-Length: 0\r\nLocation: /console/\r\n\r\n");
  HttpResponse none;
  none.status = 204;
  none.body = "ignored";
  EXPECT_EQ(serialize_response(none, Framing{.close = true}), "HTTP/1.1 204 No Content\r\nConnection: close\r\n\r\n");
  HttpResponse odd;
  odd.status = 299;
  EXPECT_EQ(serialize_response(odd, Framing{}), "HTTP/1.1 299 Unknown\r\nContent-Length: 0\r\n\r\n");
}

TEST(HttpSerialize, RefusalIsJsonAndCloses) {
  const auto out = refusal_bytes(503, "too_many_connections", "too many open connections; try again shortly");
  EXPECT_EQ(out.rfind("HTTP/1.1 503 Service Unavailable\r\nContent-Type: application/json\r\nContent-Length: ", 0), 0u);
  EXPECT_NE(out.find("Connection: close\r\n\r\n{\"error\":\"too_many_connections\""), std::string::npos);
}

}  // namespace
}  // namespace mediax
