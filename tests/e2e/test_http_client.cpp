// The daemon's real HTTP client (net/http_client.cpp) against an in-test cpp-httplib server on
// loopback: keep-alive reuses a connection while it is fresh, follows a server that closes, and never
// sends a request twice after the server may have read it. The server tells connections apart by the
// client's source port.
#include <httplib.h>

#include <atomic>
#include <mutex>
#include <set>
#include <thread>

#include <gtest/gtest.h>

#include "net/http_client.hpp"

namespace mediax {
namespace {

using namespace std::chrono_literals;

class Origin {
 public:
  // configure: server settings before it listens (keep-alive count and timeout).
  explicit Origin(const std::function<void(httplib::Server&)>& configure = {}) {
    server_.Post("/token", [this](const httplib::Request& req, httplib::Response& res) {
      int n = 0;
      {
        std::lock_guard lk(mu_);
        ports_.push_back(req.remote_port);
        n = static_cast<int>(ports_.size());
      }
      if (n == slow_call_) std::this_thread::sleep_for(600ms);
      res.set_content("{\"n\":" + std::to_string(n) + "}", "application/json");
    });
    if (configure) configure(server_);
    port_ = server_.bind_to_any_port("127.0.0.1");
    thread_ = std::thread([this] { server_.listen_after_bind(); });
  }
  ~Origin() {
    server_.stop();
    if (thread_.joinable()) thread_.join();
  }
  Origin(const Origin&) = delete;
  Origin& operator=(const Origin&) = delete;

  HttpClientRequest request() const {
    HttpClientRequest req;
    req.method = "POST";
    req.url = "http://127.0.0.1:" + std::to_string(port_) + "/token";
    req.content_type = "application/x-www-form-urlencoded";
    req.body = "grant_type=refresh_token&refresh_token=r";
    return req;
  }
  std::vector<int> ports() const {
    std::lock_guard lk(mu_);
    return ports_;
  }
  std::size_t connections() const {
    auto p = ports();
    return std::set<int>(p.begin(), p.end()).size();
  }
  void slow_on_call(int n) { slow_call_ = n; }

 private:
  httplib::Server server_;
  int port_ = 0;
  std::thread thread_;
  mutable std::mutex mu_;
  std::vector<int> ports_;
  std::atomic<int> slow_call_{0};
};

HttpClientOptions options(std::chrono::seconds keep_alive) {
  HttpClientOptions o;
  o.connect_timeout = 2000ms;
  o.read_timeout = 2000ms;
  o.total_timeout = 3000ms;
  o.keep_alive = keep_alive;
  return o;
}

void expect_ok(const HttpClientResponse& r, int n) {
  EXPECT_EQ(r.status, 200) << r.error;
  EXPECT_EQ(r.body, "{\"n\":" + std::to_string(n) + "}");
}

TEST(HttpClientKeepAlive, CallsInARowShareOneConnection) {
  Origin origin;
  auto client = make_http_client(options(4s));
  for (int i = 1; i <= 4; ++i) expect_ok(client->send(origin.request()), i);
  EXPECT_EQ(origin.ports().size(), 4u);
  EXPECT_EQ(origin.connections(), 1u);
}

// cpp-httplib sends a request's head and body apart. Under Nagle's algorithm the body waited
// for the server's delayed ACK of the head (~40 ms on Linux, loopback included) on every POST of a
// kept-alive connection: a token refresh took 40 ms more than the platform did. With TCP_NODELAY
// the calls take what the server takes. 20 calls: ~800 ms with the delay, a few ms without; the
// bound sits at half of the delay's total so that a loaded machine does not fail it.
TEST(HttpClientKeepAlive, PostsOnAKeptConnectionAreNotHeldBackByNagle) {
  Origin origin([](httplib::Server& s) {
    s.set_tcp_nodelay(true);  // the server's own answers are not held back either
    s.set_keep_alive_max_count(100);
  });
  auto client = make_http_client(options(4s));
  expect_ok(client->send(origin.request()), 1);  // the connection is open: the rest reuse it
  const auto t0 = std::chrono::steady_clock::now();
  for (int i = 2; i <= 21; ++i) expect_ok(client->send(origin.request()), i);
  const auto took = std::chrono::steady_clock::now() - t0;
  EXPECT_EQ(origin.connections(), 1u);
  EXPECT_LT(took, 400ms) << std::chrono::duration_cast<std::chrono::milliseconds>(took).count()
                         << " ms for 20 kept-alive POSTs";
}

TEST(HttpClientKeepAlive, ZeroOpensAConnectionPerCall) {
  Origin origin;
  auto client = make_http_client(options(0s));
  for (int i = 1; i <= 3; ++i) expect_ok(client->send(origin.request()), i);
  EXPECT_EQ(origin.connections(), 3u);
}

TEST(HttpClientKeepAlive, ConcurrentCallsEachHaveTheirOwnConnectionThenShareThem) {
  Origin origin([](httplib::Server& s) { s.set_keep_alive_max_count(100); });
  auto client = make_http_client(options(4s));
  constexpr int kThreads = 4, kCalls = 10;
  std::atomic<int> ok{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&] {
      for (int i = 0; i < kCalls; ++i) {
        if (client->send(origin.request()).status == 200) ++ok;
      }
    });
  }
  for (auto& t : threads) t.join();
  EXPECT_EQ(ok.load(), kThreads * kCalls);
  // Never more connections than calls at once; fewer than calls, as they are reused.
  EXPECT_LE(origin.connections(), static_cast<std::size_t>(kThreads));
  EXPECT_GE(origin.connections(), 1u);
}

TEST(HttpClientKeepAlive, ServerThatClosesAfterEachAnswerIsFollowed) {
  Origin origin([](httplib::Server& s) { s.set_keep_alive_max_count(1); });  // "Connection: close"
  auto client = make_http_client(options(4s));
  for (int i = 1; i <= 3; ++i) expect_ok(client->send(origin.request()), i);
  EXPECT_EQ(origin.connections(), 3u);
}

TEST(HttpClientKeepAlive, ServerIdleTimeoutShorterThanOursCostsNoCall) {
  Origin origin([](httplib::Server& s) { s.set_keep_alive_timeout(1); });
  auto client = make_http_client(options(4s));
  expect_ok(client->send(origin.request()), 1);
  std::this_thread::sleep_for(2000ms);  // the server has closed its side by now
  expect_ok(client->send(origin.request()), 2);
  EXPECT_EQ(origin.connections(), 2u);
}

TEST(HttpClientKeepAlive, ConnectionIdleLongerThanKeepAliveIsNotReused) {
  Origin origin([](httplib::Server& s) { s.set_keep_alive_timeout(30); });
  auto client = make_http_client(options(1s));
  expect_ok(client->send(origin.request()), 1);
  expect_ok(client->send(origin.request()), 2);
  EXPECT_EQ(origin.connections(), 1u);
  std::this_thread::sleep_for(1500ms);
  expect_ok(client->send(origin.request()), 3);
  EXPECT_EQ(origin.connections(), 2u);
}

TEST(HttpClientKeepAlive, RequestTheServerMayHaveReadIsNotSentAgain) {
  Origin origin;
  origin.slow_on_call(2);  // the second call outlasts the read timeout on the kept connection
  auto opts = options(4s);
  opts.read_timeout = 300ms;
  auto client = make_http_client(opts);
  expect_ok(client->send(origin.request()), 1);
  auto r = client->send(origin.request());
  EXPECT_EQ(r.status, 0);
  EXPECT_FALSE(r.error.empty());
  std::this_thread::sleep_for(700ms);    // the slow handler finishes
  EXPECT_EQ(origin.ports().size(), 2u);  // a refresh token must not go out twice
  // The timed-out connection was not put back: the next call works on a new one.
  expect_ok(client->send(origin.request()), 3);
  EXPECT_EQ(origin.connections(), 2u);
}

}  // namespace
}  // namespace mediax
