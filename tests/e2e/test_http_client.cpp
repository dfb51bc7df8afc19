// The daemon's real HTTP client (net/async_http_client.hpp) against an in-test cpp-httplib server
// on loopback: keep-alive reuses a connection while it is fresh, follows a server that closes, and
// never sends a request twice after the server may have read it; calls started on a caller's
// io_context run at once; the per-read and whole-call limits, the answer size limit and a refused
// connection. The server tells connections apart by the client's source port.
#include <httplib.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <condition_variable>
#include <filesystem>
#include <mutex>
#include <set>
#include <stdexcept>
#include <thread>

#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/post.hpp>
#include <gtest/gtest.h>

#include "http/listen_backlog.hpp"
#include "net/async_http_client.hpp"
#include "net/http_client.hpp"
#include "support/process.hpp"
#include "support/self_signed_cert.hpp"

namespace mediax {
namespace {

using namespace std::chrono_literals;

// A local server for the tests: routes of the test's own, as many handler threads as
// calls it must hold at once, and an accept queue a burst of connections does not overflow
// (http/listen_backlog.hpp).
class LocalServer {
 public:
  explicit LocalServer(const std::function<void(httplib::Server&)>& routes, int threads = 8) {
    server_.new_task_queue = [threads] { return new httplib::ThreadPool(static_cast<std::size_t>(threads)); };
    server_.set_socket_options([this](int fd) {
      reuse_address(fd);
      backlog_.remember(fd);
    });
    routes(server_);
    port_ = server_.bind_to_any_port("127.0.0.1");
    backlog_.widen();
    thread_ = std::thread([this] { server_.listen_after_bind(); });
  }
  ~LocalServer() {
    server_.stop();
    if (thread_.joinable()) thread_.join();
  }
  LocalServer(const LocalServer&) = delete;
  LocalServer& operator=(const LocalServer&) = delete;

  std::string url(const std::string& path) const { return "http://127.0.0.1:" + std::to_string(port_) + path; }

 private:
  httplib::Server server_;
  ListenBacklog backlog_;
  int port_ = 0;
  std::thread thread_;
};

// A token endpoint that records the client port of each call (one port per connection).
class Origin {
 public:
  // configure: server settings before it listens (keep-alive count and timeout).
  explicit Origin(const std::function<void(httplib::Server&)>& configure = {})
      : server_([this, &configure](httplib::Server& s) {
          s.Post("/token", [this](const httplib::Request& req, httplib::Response& res) {
            int n = 0;
            {
              std::lock_guard lk(mu_);
              ports_.push_back(req.remote_port);
              n = static_cast<int>(ports_.size());
            }
            if (n == slow_call_) std::this_thread::sleep_for(600ms);
            res.set_content("{\"n\":" + std::to_string(n) + "}", "application/json");
          });
          if (configure) configure(s);
        }) {}

  HttpClientRequest request() const {
    HttpClientRequest req;
    req.method = "POST";
    req.url = server_.url("/token");
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
  mutable std::mutex mu_;
  std::vector<int> ports_;
  std::atomic<int> slow_call_{0};
  LocalServer server_;  // last: it stops (and its handlers end) before the members they use go
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

// Kept-alive TLS connections are reused too: the look for a closed connection before reuse must not
// take what TLS 1.3 sends after its handshake (session tickets) for the server closing. The
// certificate names 127.0.0.1, which is checked as an address (no SNI for an IP literal).
TEST(HttpClientKeepAlive, TlsConnectionsAreKeptToo) {
  const auto made =
      test::make_self_signed_cert(test::make_temp_dir("mediax-e2e-client-tls"), "127.0.0.1", "IP:127.0.0.1");
  ASSERT_EQ(made.error, "");
  const std::string &cert = made.cert, &key = made.key;
  httplib::SSLServer server(cert.c_str(), key.c_str());
  ASSERT_TRUE(server.is_valid());
  std::mutex mu;
  std::set<int> ports;
  server.Get("/tls", [&](const httplib::Request& req, httplib::Response& res) {
    std::lock_guard lk(mu);
    ports.insert(req.remote_port);
    res.set_content("tls", "text/plain");
  });
  const int port = server.bind_to_any_port("127.0.0.1");
  std::thread thread([&] { server.listen_after_bind(); });

  auto opts = options(4s);
  opts.ca_file = cert;
  auto client = make_http_client(opts);
  HttpClientRequest req;
  req.url = "https://127.0.0.1:" + std::to_string(port) + "/tls";
  for (int i = 0; i < 3; ++i) {
    const auto r = client->send(req);
    EXPECT_EQ(r.status, 200) << r.error;
    EXPECT_EQ(r.body, "tls");
    std::this_thread::sleep_for(50ms);  // whatever the server sends after its answer has arrived
  }
  client.reset();  // closes the kept connection, which the server would otherwise wait on
  server.stop();
  thread.join();
  std::lock_guard lk(mu);
  EXPECT_EQ(ports.size(), 1u);
  std::filesystem::remove_all(std::filesystem::path(cert).parent_path());
}

HttpClientRequest get(const std::string& url) {
  HttpClientRequest r;
  r.url = url;
  return r;
}

std::chrono::milliseconds since(std::chrono::steady_clock::time_point t0) {
  return std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::steady_clock::now() - t0);
}

// 200 calls started from one io_context's thread, to a server that answers each after 50 ms:
// one after another they would take 10 s; at once, about the 50 ms times the server's 4 rounds of
// 64 handler threads. Each `done` runs on the loop's thread, after start() has returned.
TEST(HttpClientAsync, ManyCallsOnACallersLoopRunAtOnce) {
  LocalServer server(
      [](httplib::Server& s) {
        s.Get("/slow", [](const httplib::Request&, httplib::Response& res) {
          std::this_thread::sleep_for(50ms);
          res.set_content("ok", "text/plain");
        });
      },
      64);
  auto client = make_async_http_client(options(0s));
  constexpr int kCalls = 200;
  boost::asio::io_context io;
  int answered = 0, ok = 0, inside_start = 0, elsewhere = 0;
  bool starting = false;
  const auto loop_thread = std::this_thread::get_id();
  boost::asio::post(io, [&] {
    for (int i = 0; i < kCalls; ++i) {
      starting = true;
      client->start(io, get(server.url("/slow")), [&](HttpClientResponse r) {
        if (starting) ++inside_start;
        if (std::this_thread::get_id() != loop_thread) ++elsewhere;
        ++answered;
        if (r.status == 200 && r.body == "ok") ++ok;
      });
      starting = false;
    }
  });
  const auto t0 = std::chrono::steady_clock::now();
  io.run();  // returns once every call has answered: nothing else is queued
  const auto took = since(t0);
  EXPECT_EQ(answered, kCalls);
  EXPECT_EQ(ok, kCalls);
  EXPECT_EQ(inside_start, 0);
  EXPECT_EQ(elsewhere, 0);
  EXPECT_LT(took, 3000ms) << took.count() << " ms for " << kCalls << " calls of 50 ms: they ran one after another";
}

// Kept connections belong to the io_context their sockets were made on: calls on two loops, each
// on its own thread, keep one connection each and never take the other's.
TEST(HttpClientAsync, EachLoopKeepsItsOwnConnections) {
  Origin origin([](httplib::Server& s) { s.set_keep_alive_max_count(100); });
  auto client = make_async_http_client(options(4s));
  constexpr int kCalls = 5;
  std::atomic<int> ok{0};
  auto calls_in_a_row = [&] {
    boost::asio::io_context io;
    std::function<void(int)> call = [&](int left) {
      client->start(io, origin.request(), [&, left](HttpClientResponse r) {
        if (r.status == 200) ++ok;
        if (left > 1) call(left - 1);
      });
    };
    boost::asio::post(io, [&] { call(kCalls); });
    io.run();
  };
  std::thread a(calls_in_a_row), b(calls_in_a_row);
  a.join();
  b.join();
  EXPECT_EQ(ok.load(), 2 * kCalls);
  EXPECT_EQ(origin.ports().size(), static_cast<std::size_t>(2 * kCalls));
  EXPECT_EQ(origin.connections(), 2u);
}

// The client goes while its calls wait for a slow answer: each call still ends, once, as
// "canceled", on its loop; nothing is left running.
TEST(HttpClientAsync, DestroyingTheClientCancelsItsCalls) {
  LocalServer server([](httplib::Server& s) {
    s.Get("/slow", [](const httplib::Request&, httplib::Response& res) {
      std::this_thread::sleep_for(1000ms);
      res.set_content("late", "text/plain");
    });
  });
  boost::asio::io_context io;
  auto work = boost::asio::make_work_guard(io);
  std::thread loop([&] { io.run(); });
  std::mutex mu;
  std::condition_variable cv;
  std::vector<std::string> errors;
  auto client = make_async_http_client(options(4s));
  for (int i = 0; i < 3; ++i) {
    boost::asio::post(io, [&] {
      client->start(io, get(server.url("/slow")), [&](HttpClientResponse r) {
        std::lock_guard lk(mu);
        errors.push_back(r.status == 0 ? r.error : "status " + std::to_string(r.status));
        cv.notify_all();
      });
    });
  }
  std::this_thread::sleep_for(200ms);  // the calls are waiting for their answers
  const auto t0 = std::chrono::steady_clock::now();
  client.reset();
  {
    std::unique_lock lk(mu);
    EXPECT_TRUE(cv.wait_for(lk, 2s, [&] { return errors.size() == 3; }));
    for (const auto& e : errors) EXPECT_EQ(e, "canceled");
  }
  EXPECT_LT(since(t0), 500ms) << "the calls were waited for, not cancelled";
  work.reset();
  loop.join();
  std::this_thread::sleep_for(100ms);
  std::lock_guard lk(mu);
  EXPECT_EQ(errors.size(), 3u) << "a call ended twice";
}

// read_timeout limits silence, not the answer: a server that says nothing for longer fails the
// call as "read" (cpp-httplib's word, which the platforms' transport_read keeps), long before the
// whole-call deadline.
TEST(HttpClientTimeouts, SilenceLongerThanTheReadTimeoutIsARead) {
  Origin origin;
  origin.slow_on_call(1);  // 600 ms before the answer
  auto opts = options(0s);
  opts.read_timeout = 200ms;
  auto client = make_http_client(opts);
  const auto t0 = std::chrono::steady_clock::now();
  const auto r = client->send(origin.request());
  EXPECT_EQ(r.status, 0);
  EXPECT_EQ(r.error, "read");
  EXPECT_LT(since(t0), 550ms);
}

// A byte every 100 ms never leaves the connection silent for read_timeout (500 ms): such an answer
// is read to its end when there is no whole-call deadline, and cut at the deadline as "timeout"
// when there is one.
TEST(HttpClientTimeouts, ATrickledAnswerIsCutOnlyByTheWholeCallDeadline) {
  LocalServer server([](httplib::Server& s) {
    s.Get("/trickle", [](const httplib::Request& req, httplib::Response& res) {
      const std::size_t bytes = std::stoul(req.get_param_value("bytes"));
      res.set_chunked_content_provider("text/plain", [bytes](std::size_t offset, httplib::DataSink& sink) {
        if (offset >= bytes) {
          sink.done();
          return true;
        }
        std::this_thread::sleep_for(100ms);
        return sink.write("x", 1);
      });
    });
  });
  auto opts = options(0s);
  opts.read_timeout = 500ms;
  opts.total_timeout = 0ms;
  const auto whole = make_http_client(opts)->send(get(server.url("/trickle?bytes=8")));
  EXPECT_EQ(whole.status, 200) << whole.error;
  EXPECT_EQ(whole.body, std::string(8, 'x'));

  opts.total_timeout = 1000ms;
  auto client = make_http_client(opts);
  const auto t0 = std::chrono::steady_clock::now();
  const auto cut = client->send(get(server.url("/trickle?bytes=100")));  // 10 s
  const auto took = since(t0);
  EXPECT_EQ(cut.status, 0);
  EXPECT_EQ(cut.error, "timeout");
  EXPECT_GE(took, 900ms);
  EXPECT_LT(took, 2500ms);
}

// 4 MiB is the most an answer may have; one byte more is "too_large", with a Content-Length or
// chunked.
TEST(HttpClientLimits, AnAnswerOver4MiBIsTooLarge) {
  constexpr std::size_t kLimit = 4 * 1024 * 1024;
  LocalServer server([](httplib::Server& s) {
    s.Get("/sized", [](const httplib::Request& req, httplib::Response& res) {
      res.set_content(std::string(std::stoul(req.get_param_value("bytes")), 'a'), "text/plain");
    });
    s.Get("/chunked", [](const httplib::Request&, httplib::Response& res) {
      res.set_chunked_content_provider("text/plain", [](std::size_t offset, httplib::DataSink& sink) {
        if (offset > kLimit) {
          sink.done();
          return true;
        }
        const std::string block(64 * 1024, 'b');
        return sink.write(block.data(), block.size());
      });
    });
  });
  auto client = make_http_client(options(0s));
  const auto at_limit = client->send(get(server.url("/sized?bytes=" + std::to_string(kLimit))));
  EXPECT_EQ(at_limit.status, 200) << at_limit.error;
  EXPECT_EQ(at_limit.body.size(), kLimit);
  const auto over = client->send(get(server.url("/sized?bytes=" + std::to_string(kLimit + 1))));
  EXPECT_EQ(over.status, 0);
  EXPECT_EQ(over.error, "too_large");
  const auto chunked = client->send(get(server.url("/chunked")));
  EXPECT_EQ(chunked.status, 0);
  EXPECT_EQ(chunked.error, "too_large");
}

// A port nobody listens on: the call fails at once as "connection", blocking or not.
TEST(HttpClientErrors, ARefusedConnectionIsAConnectionError) {
  const int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  socklen_t len = sizeof a;
  if (::bind(fd, reinterpret_cast<sockaddr*>(&a), len) != 0 ||
      ::getsockname(fd, reinterpret_cast<sockaddr*>(&a), &len) != 0) {
    throw std::runtime_error("cannot bind 127.0.0.1");
  }
  const std::string url = "http://127.0.0.1:" + std::to_string(ntohs(a.sin_port)) + "/";
  ::close(fd);  // bound, never listened: connecting to it is refused

  auto client = make_async_http_client(options(0s));
  const auto blocking = client->send(get(url));
  EXPECT_EQ(blocking.status, 0);
  EXPECT_EQ(blocking.error, "connection");

  boost::asio::io_context io;
  HttpClientResponse async;
  client->start(io, get(url), [&](HttpClientResponse r) { async = std::move(r); });
  io.run();
  EXPECT_EQ(async.status, 0);
  EXPECT_EQ(async.error, "connection");
}

}  // namespace
}  // namespace mediax
