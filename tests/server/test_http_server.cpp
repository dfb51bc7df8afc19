// HttpServer (http/http_server.hpp) over loopback sockets with a small RequestHandler: keep-alive,
// pipelining, the handler pool, TLS, the connection cap, deadlines, accept when out of file
// descriptors, a 1 MB head, stop().
#include <utility>  // before Asio: Boost 1.74's asio/awaitable.hpp uses std::exchange without including it

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <boost/asio.hpp>
#include <boost/asio/ssl.hpp>
#include <chrono>
#include <condition_variable>
#include <filesystem>
#include <optional>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "http/http_server.hpp"
#include "support/process.hpp"
#include "support/self_signed_cert.hpp"

namespace mediax {
namespace {

using namespace std::chrono_literals;
using Clock = std::chrono::steady_clock;

// /fast is answered on the event loop; /block waits on the pool until released; the rest on the pool.
class TestHandler : public RequestHandler {
 public:
  std::optional<HttpResponse> answer_now(HttpRequest& req, ListenerKind where) override {
    if (req.path != "/fast") return std::nullopt;
    HttpResponse r;
    r.json(200, {{"path", req.path}, {"listener", where == ListenerKind::token ? "token" : "admin"}});
    return r;
  }
  HttpResponse answer(HttpRequest& req, ListenerKind) override {
    if (req.path == "/block") {
      std::unique_lock lk(mu_);
      entered_ = true;
      cv_.notify_all();
      cv_.wait(lk, [this] { return released_; });
      finished_ = true;
    }
    HttpResponse r;
    r.json(200, {{"method", req.method}, {"path", req.path}, {"body", req.body}, {"query", req.query}});
    return r;
  }
  void wait_entered() {
    std::unique_lock lk(mu_);
    ASSERT_TRUE(cv_.wait_for(lk, 10s, [this] { return entered_; }));
  }
  void release() {
    std::lock_guard lk(mu_);
    released_ = true;
    cv_.notify_all();
  }
  bool finished() {
    std::lock_guard lk(mu_);
    return finished_;
  }

 private:
  std::mutex mu_;
  std::condition_variable cv_;
  bool entered_ = false, released_ = false, finished_ = false;
};

struct Response {
  int status = 0;  // 0: the connection closed (or timed out) first
  std::string head;
  std::string body;
};

// A blocking loopback client on a plain socket, every wait bounded.
class Client {
 public:
  explicit Client(int port) {
    fd_ = ::socket(AF_INET, SOCK_STREAM, 0);
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_port = htons(static_cast<std::uint16_t>(port));
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    connected_ = ::connect(fd_, reinterpret_cast<sockaddr*>(&a), sizeof a) == 0;
  }
  // An unconnected socket made now, connected later (connect() needs no new descriptor).
  Client() : fd_(::socket(AF_INET, SOCK_STREAM, 0)) {}
  bool connect(int port) {
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_port = htons(static_cast<std::uint16_t>(port));
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    return connected_ = ::connect(fd_, reinterpret_cast<sockaddr*>(&a), sizeof a) == 0;
  }
  ~Client() {
    if (fd_ >= 0) ::close(fd_);
  }
  Client(const Client&) = delete;
  Client& operator=(const Client&) = delete;

  bool connected() const { return connected_; }
  bool send(std::string_view data) {
    while (!data.empty()) {
      const auto n = ::send(fd_, data.data(), data.size(), MSG_NOSIGNAL);
      if (n <= 0) return false;
      data.remove_prefix(static_cast<std::size_t>(n));
    }
    return true;
  }
  // One answer (by its Content-Length); status 0 when the connection closed or `timeout` passed first.
  Response read_response(std::chrono::milliseconds timeout = 10s) {
    const auto until = Clock::now() + timeout;
    Response r;
    std::size_t end = std::string::npos;
    while ((end = in_.find("\r\n\r\n")) == std::string::npos) {
      if (!fill(until)) return r;
    }
    r.head = in_.substr(0, end + 4);
    std::size_t length = 0;
    const auto cl = r.head.find("Content-Length: ");
    if (cl != std::string::npos) length = std::stoul(r.head.substr(cl + 16));
    const bool bodiless = head_only_;
    while (!bodiless && in_.size() < end + 4 + length) {
      if (!fill(until)) return r;
    }
    r.body = bodiless ? "" : in_.substr(end + 4, length);
    in_.erase(0, end + 4 + (bodiless ? 0 : length));
    r.status = std::stoi(r.head.substr(9, 3));
    return r;
  }
  // Whether the server closes the connection within `timeout` (what it sends meanwhile is kept).
  bool closed_within(std::chrono::milliseconds timeout) {
    const auto until = Clock::now() + timeout;
    while (Clock::now() < until) {
      if (!fill(until)) return eof_;
    }
    return false;
  }
  void expect_head_only(bool v) { head_only_ = v; }
  const std::string& received() const { return in_; }

 private:
  // Reads what is there; false at EOF, error or `until`.
  bool fill(Clock::time_point until) {
    const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(until - Clock::now()).count();
    if (left <= 0) return false;
    pollfd p{fd_, POLLIN, 0};
    if (::poll(&p, 1, static_cast<int>(left)) <= 0) return false;
    char buf[65536];
    const auto n = ::recv(fd_, buf, sizeof buf, 0);
    if (n <= 0) {
      eof_ = true;
      return false;
    }
    in_.append(buf, static_cast<std::size_t>(n));
    return true;
  }

  int fd_ = -1;
  bool connected_ = false, eof_ = false, head_only_ = false;
  std::string in_;
};

std::string get(const std::string& path, const std::string& extra = "") {
  return "GET " + path + " HTTP/1.1\r\nHost: t\r\n" + extra + "\r\n";
}

struct ServerFixture : ::testing::Test {
  ServerLimits limits() {
    ServerLimits l;
    l.header_timeout = 400ms;
    l.body_timeout = 400ms;
    l.idle_timeout = 400ms;
    l.write_timeout = 2s;
    l.max_head_bytes = 8192;
    l.event_threads = 2;
    l.handler_threads = 4;
    return l;
  }
  ListenerSpec spec(const std::string& key = "admin.listen") {
    ListenerSpec s;
    s.config_key = key;
    s.address = "127.0.0.1:0";
    s.max_body_bytes = 1000;
    return s;
  }
  void start(const ServerLimits& l, std::vector<ListenerSpec> specs) {
    server.emplace(handler, l, real_time(), registry);
    for (const auto& s : specs) ports.push_back(server->port(server->add_listener(s)));
    server->start();
  }
  // The value of a metric line (its name with labels), -1 when absent.
  double metric(const std::string& series) {
    const auto text = registry.render();
    const auto at = text.find("\n" + series + " ");
    if (at == std::string::npos) return -1;
    return std::stod(text.substr(at + series.size() + 2));
  }
  // Polls a metric until it has `value` (the server updates it on its own threads).
  bool metric_becomes(const std::string& series, double value, std::chrono::milliseconds timeout = 5s) {
    const auto until = Clock::now() + timeout;
    while (Clock::now() < until) {
      if (metric(series) == value) return true;
      std::this_thread::sleep_for(10ms);
    }
    return false;
  }

  TestHandler handler;
  metrics::Registry registry;
  std::optional<HttpServer> server;
  std::vector<int> ports;
};

using HttpServerTest = ServerFixture;

TEST_F(HttpServerTest, KeepAliveAnswersFromTheLoopAndThePool) {
  auto token = spec("admin.token_listen");
  token.kind = ListenerKind::token;
  start(limits(), {spec(), token});
  Client c(ports[0]);
  ASSERT_TRUE(c.connected());
  ASSERT_TRUE(c.send(get("/fast")));
  auto r = c.read_response();
  ASSERT_EQ(r.status, 200) << r.head;
  EXPECT_EQ(nlohmann::json::parse(r.body)["listener"], "admin");
  EXPECT_NE(r.head.find("Content-Type: application/json\r\n"), std::string::npos);
  EXPECT_EQ(r.head.find("Server:"), std::string::npos);
  ASSERT_TRUE(c.send("POST /pool?a=1 HTTP/1.1\r\nHost: t\r\n\r\n"));  // no length, no chunking: empty body
  r = c.read_response();
  ASSERT_EQ(r.status, 200) << r.head;
  EXPECT_EQ(nlohmann::json::parse(r.body),
            (nlohmann::json{{"method", "POST"}, {"path", "/pool"}, {"body", ""}, {"query", "a=1"}}));

  Client t(ports[1]);
  ASSERT_TRUE(t.send(get("/fast")));
  r = t.read_response();
  ASSERT_EQ(r.status, 200);
  EXPECT_EQ(nlohmann::json::parse(r.body)["listener"], "token");
}

TEST_F(HttpServerTest, PipelinedRequestsComeBackInOrder) {
  start(limits(), {spec()});
  Client c(ports[0]);
  ASSERT_TRUE(
      c.send(get("/one") + get("/fast") + "POST /three HTTP/1.1\r\nContent-Length: 3\r\n\r\nabc" + get("/four")));
  for (const std::string path : {"/one", "/fast", "/three", "/four"}) {
    const auto r = c.read_response();
    ASSERT_EQ(r.status, 200) << path;
    EXPECT_EQ(nlohmann::json::parse(r.body)["path"], path);
  }
}

TEST_F(HttpServerTest, ExpectContinueAndChunkedOverTheSocket) {
  start(limits(), {spec()});
  Client c(ports[0]);
  ASSERT_TRUE(c.send("PUT /x HTTP/1.1\r\nExpect: 100-continue\r\nContent-Length: 5\r\n\r\n"));
  auto r = c.read_response();
  ASSERT_EQ(r.status, 100);
  ASSERT_TRUE(c.send("hello"));
  r = c.read_response();
  ASSERT_EQ(r.status, 200);
  EXPECT_EQ(nlohmann::json::parse(r.body)["body"], "hello");
  ASSERT_TRUE(c.send("POST /y HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n0\r\n\r\n"));
  r = c.read_response();
  ASSERT_EQ(r.status, 200);
  EXPECT_EQ(nlohmann::json::parse(r.body)["body"], "abc");
  ASSERT_TRUE(c.send("POST /z HTTP/1.1\r\nContent-Length: 1001\r\n\r\n"));  // over max_body_bytes
  r = c.read_response();
  EXPECT_EQ(r.status, 413);
  EXPECT_NE(r.head.find("Connection: close"), std::string::npos);
  EXPECT_TRUE(c.closed_within(5s));
  EXPECT_TRUE(metric_becomes("mediax_http_malformed_requests_total{listener=\"admin.listen\",status=\"413\"}", 1));
}

TEST_F(HttpServerTest, HeadAnswersWithTheLengthOfTheGet) {
  start(limits(), {spec()});
  Client c(ports[0]);
  ASSERT_TRUE(c.send(get("/fast")));
  const auto full = c.read_response();
  ASSERT_TRUE(c.send("HEAD /fast HTTP/1.1\r\n\r\n"));
  c.expect_head_only(true);
  const auto head = c.read_response();
  ASSERT_EQ(head.status, 200);
  EXPECT_NE(head.head.find("Content-Length: " + std::to_string(full.body.size()) + "\r\n"), std::string::npos);
  c.expect_head_only(false);
  ASSERT_TRUE(c.send(get("/fast")));  // nothing of a body was sent in between
  EXPECT_EQ(c.read_response().status, 200);
}

TEST_F(HttpServerTest, TlsListenerServesHttps) {
  const auto dir = std::filesystem::temp_directory_path() / ("mediax-http-tls-" + std::to_string(::getpid()));
  std::filesystem::create_directories(dir);
  const auto made = test::make_self_signed_cert(dir.string(), "127.0.0.1", "");
  ASSERT_EQ(made.error, "");
  const std::string &cert = made.cert, &key = made.key;
  auto s = spec();
  s.tls_cert_file = cert;
  s.tls_key_file = key;
  start(limits(), {s});

  namespace asio = boost::asio;
  asio::io_context io;
  asio::ssl::context ctx(asio::ssl::context::tls_client);
  ctx.set_verify_mode(asio::ssl::verify_none);  // a throwaway self-signed certificate
  asio::ssl::stream<asio::ip::tcp::socket> tls(io, ctx);
  tls.next_layer().connect({asio::ip::make_address("127.0.0.1"), static_cast<unsigned short>(ports[0])});
  tls.handshake(asio::ssl::stream_base::client);
  asio::write(tls, asio::buffer(get("/pool", "Connection: close\r\n")));
  std::string answer;
  boost::system::error_code ec;
  asio::read(tls, asio::dynamic_buffer(answer), ec);  // to the end: the server closes after it
  EXPECT_EQ(answer.rfind("HTTP/1.1 200 OK\r\n", 0), 0u) << answer;
  EXPECT_NE(answer.find("\"path\":\"/pool\""), std::string::npos);

  // A TLS client that never says hello is cut at the head deadline.
  Client silent(ports[0]);
  EXPECT_TRUE(silent.closed_within(3s));
  std::filesystem::remove_all(dir);

  ListenerSpec bad = spec();
  bad.tls_cert_file = (dir / "missing.pem").string();
  bad.tls_key_file = key;
  HttpServer other(handler, limits(), real_time(), registry);
  try {
    other.add_listener(bad);
    ADD_FAILURE() << "a missing certificate was accepted";
  } catch (const std::runtime_error& e) {
    EXPECT_NE(std::string(e.what()).find("admin.listen"), std::string::npos) << e.what();
  }
}

TEST_F(HttpServerTest, BeyondTheCapA503AndTheOthersStillServed) {
  auto s = spec();
  s.max_connections = 2;
  auto l = limits();
  l.idle_timeout = 10s;
  start(l, {s});
  Client a(ports[0]), b(ports[0]);
  ASSERT_TRUE(a.send(get("/fast")));
  ASSERT_EQ(a.read_response().status, 200);
  ASSERT_TRUE(b.send(get("/fast")));
  ASSERT_EQ(b.read_response().status, 200);
  Client over(ports[0]);
  const auto r = over.read_response();
  EXPECT_EQ(r.status, 503);
  EXPECT_EQ(nlohmann::json::parse(r.body)["error"], "too_many_connections");
  EXPECT_TRUE(over.closed_within(5s));
  EXPECT_EQ(metric("mediax_http_connections_refused_total{listener=\"admin.listen\"}"), 1);
  ASSERT_TRUE(a.send(get("/fast")));
  EXPECT_EQ(a.read_response().status, 200);
  EXPECT_TRUE(metric_becomes("mediax_http_connections_open{listener=\"admin.listen\"}", 2));
}

TEST_F(HttpServerTest, TricklingAndSilentClientsAreCutAtTheHeadDeadline) {
  start(limits(), {spec()});
  Client silent(ports[0]);
  Client trickler(ports[0]);
  const auto t0 = Clock::now();
  std::atomic<bool> cut{false};
  std::thread trickle([&] {
    const std::string head = get("/fast", "X-Slow: " + std::string(100, 'x') + "\r\n");
    for (char ch : head) {
      if (!trickler.send(std::string(1, ch))) break;
      if (trickler.closed_within(50ms)) {
        cut = true;
        break;
      }
    }
  });
  // Meanwhile others get answers.
  for (int i = 0; i < 5; ++i) {
    Client ok(ports[0]);
    ASSERT_TRUE(ok.send(get("/fast")));
    EXPECT_EQ(ok.read_response().status, 200);
  }
  EXPECT_TRUE(silent.closed_within(3s));
  trickle.join();
  const auto took = Clock::now() - t0;
  EXPECT_TRUE(cut);
  EXPECT_GE(took, 350ms);
  EXPECT_LT(took, 3s);
  EXPECT_TRUE(metric_becomes("mediax_http_deadline_cuts_total{listener=\"admin.listen\",phase=\"head\"}", 2));
}

TEST_F(HttpServerTest, IdleAndBodyDeadlines) {
  start(limits(), {spec()});
  Client idle(ports[0]);
  ASSERT_TRUE(idle.send(get("/fast")));
  ASSERT_EQ(idle.read_response().status, 200);
  Client body(ports[0]);
  ASSERT_TRUE(body.send("POST /x HTTP/1.1\r\nContent-Length: 10\r\n\r\nabc"));
  EXPECT_TRUE(idle.closed_within(3s));
  EXPECT_TRUE(body.closed_within(3s));
  EXPECT_TRUE(metric_becomes("mediax_http_deadline_cuts_total{listener=\"admin.listen\",phase=\"idle\"}", 1));
  EXPECT_TRUE(metric_becomes("mediax_http_deadline_cuts_total{listener=\"admin.listen\",phase=\"body\"}", 1));
}

TEST_F(HttpServerTest, NoDeadlineWhileTheHandlerWorksAndStopWaitsForIt) {
  start(limits(), {spec()});
  Client c(ports[0]);
  ASSERT_TRUE(c.send(get("/block")));
  handler.wait_entered();
  // Longer than every deadline: the connection stays (no answer yet, no close).
  EXPECT_FALSE(c.closed_within(1s));
  handler.release();
  const auto r = c.read_response();
  EXPECT_EQ(r.status, 200);

  Client d(ports[0]);
  ASSERT_TRUE(d.send(get("/block")));
  std::thread stopper([&] { server->stop(); });
  stopper.join();
  EXPECT_TRUE(handler.finished());
  server->stop();  // idempotent
}

TEST_F(HttpServerTest, AMegabyteHeadIsRefusedWith431) {
  start(limits(), {spec()});
  Client c(ports[0]);
  std::thread writer([&] { c.send("GET / HTTP/1.1\r\nX-Big: " + std::string(1 << 20, 'a') + "\r\n\r\n"); });
  const auto r = c.read_response();
  writer.join();
  EXPECT_EQ(r.status, 431);
  EXPECT_EQ(nlohmann::json::parse(r.body)["error"], "headers_too_large");
}

TEST_F(HttpServerTest, AcceptGoesOnAfterRunningOutOfDescriptors) {
  start(limits(), {spec()});
  std::vector<std::unique_ptr<Client>> clients;
  for (int i = 0; i < 4; ++i) clients.push_back(std::make_unique<Client>());
  rlimit old{};
  ASSERT_EQ(::getrlimit(RLIMIT_NOFILE, &old), 0);
  // The lowest free descriptor: with the limit there, the server cannot accept.
  const int next_fd = ::fcntl(0, F_DUPFD, 0);
  ASSERT_GE(next_fd, 0);
  ::close(next_fd);
  rlimit tight = old;
  tight.rlim_cur = static_cast<rlim_t>(next_fd);
  ASSERT_EQ(::setrlimit(RLIMIT_NOFILE, &tight), 0);
  bool all_sent = true;
  for (auto& c : clients) all_sent = all_sent && c->connect(ports[0]) && c->send(get("/fast"));  // into the backlog
  // The server cannot accept them now (each accept fails with EMFILE and is retried)...
  const auto early = clients.front()->read_response(300ms);
  ASSERT_EQ(::setrlimit(RLIMIT_NOFILE, &old), 0);
  ASSERT_TRUE(all_sent);
  EXPECT_EQ(early.status, 0);
  // ...and does once descriptors are free again.
  for (auto& c : clients) EXPECT_EQ(c->read_response().status, 200);
}

TEST_F(HttpServerTest, ABusyPortIsAnErrorNamingTheListener) {
  start(limits(), {spec()});
  HttpServer other(handler, limits(), real_time(), registry);
  auto s = spec("admin.token_listen");
  s.address = "127.0.0.1:" + std::to_string(ports[0]);
  try {
    other.add_listener(s);
    ADD_FAILURE() << "bound a busy port";
  } catch (const std::runtime_error& e) {
    EXPECT_NE(std::string(e.what()).find("admin.token_listen"), std::string::npos) << e.what();
    EXPECT_NE(std::string(e.what()).find(s.address), std::string::npos) << e.what();
  }
}

}  // namespace
}  // namespace mediax
