// The HTTP edge (http/http_server.hpp) as clients meet it, on a running daemon with both listeners:
// the real curl binary posting without a body; clients that trickle their request head, cut at
// admin.header_timeout_seconds while others get answers; 10,000 idle connections that do not stop
// new requests; a 1 MB request head refused with 431 without the daemon's memory growing; chunked
// bodies, Expect: 100-continue, HEAD, HTTP/1.0 and pipelining on the admin listener.
#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <cstring>
#include <fstream>
#include <sstream>
#include <thread>

#include "harness.hpp"
#include "http/routes.hpp"

namespace mediax::e2e {
namespace {

using Clock = std::chrono::steady_clock;

// A TCP connection to 127.0.0.1:port, non-blocking once connected; closed with the object.
class Conn {
 public:
  explicit Conn(int port) {
    fd_ = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    require(fd_ >= 0, std::string("socket: ") + std::strerror(errno));
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_port = htons(static_cast<std::uint16_t>(port));
    inet_pton(AF_INET, "127.0.0.1", &addr.sin_addr);
    if (::connect(fd_, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) != 0) {
      const int err = errno;
      ::close(fd_);
      fd_ = -1;
      throw std::runtime_error("connect to port " + std::to_string(port) + ": " + std::strerror(err));
    }
    fcntl(fd_, F_SETFL, fcntl(fd_, F_GETFL) | O_NONBLOCK);
  }
  ~Conn() {
    if (fd_ >= 0) ::close(fd_);
  }
  Conn(const Conn&) = delete;
  Conn& operator=(const Conn&) = delete;

  int fd() const { return fd_; }
  // Sends what the socket takes now; returns the bytes sent (-1: the peer is gone).
  ssize_t send_some(std::string_view data) const {
    const ssize_t n = ::send(fd_, data.data(), data.size(), MSG_NOSIGNAL);
    if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) return 0;
    return n;
  }
  // Reads what has arrived into `in`; false once the peer closed (or reset) the connection.
  bool read_available(std::string& in) const {
    char buf[16384];
    for (;;) {
      const ssize_t n = ::recv(fd_, buf, sizeof buf, 0);
      if (n > 0) {
        in.append(buf, static_cast<std::size_t>(n));
        continue;
      }
      if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) return true;
      return false;
    }
  }
  // Whether the peer closed the connection within `wait` (data before the close is read into `in`).
  bool closed_within(std::chrono::milliseconds wait, std::string& in) const {
    const auto deadline = Clock::now() + wait;
    for (;;) {
      if (!read_available(in)) return true;
      const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - Clock::now()).count();
      if (left <= 0) return false;
      pollfd p{fd_, POLLIN, 0};
      ::poll(&p, 1, static_cast<int>(left));
    }
  }

 private:
  int fd_ = -1;
};

int port_of(const std::string& url) { return test::parse_url(url)->port; }

// The daemon's resident memory in KiB (VmRSS of /proc/<pid>/status).
long resident_kib(pid_t pid) {
  std::ifstream in("/proc/" + std::to_string(pid) + "/status");
  std::string line;
  while (std::getline(in, line)) {
    if (line.rfind("VmRSS:", 0) == 0) return std::stol(line.substr(6));
  }
  throw std::runtime_error("no VmRSS for pid " + std::to_string(pid));
}

// The test process may hold as many descriptors as its hard limit allows.
void raise_own_open_file_limit() {
  rlimit lim{};
  getrlimit(RLIMIT_NOFILE, &lim);
  lim.rlim_cur = lim.rlim_max;
  setrlimit(RLIMIT_NOFILE, &lim);
}

std::size_t count_of(const std::string& s, const std::string& what) {
  std::size_t n = 0;
  for (auto p = s.find(what); p != std::string::npos; p = s.find(what, p + 1)) ++n;
  return n;
}

class HttpEdge : public E2ETest {
 protected:
  void SetUp() override {
    dir_ = test::make_temp_dir("mediax-e2e");
    token_port_ = test::free_port();
    daemon_ =
        std::make_unique<Daemon>(cluster().create_database(random_hex("e2e_http_edge_", 8)), dir_, "",
                                 "token_listen = \"127.0.0.1:" + std::to_string(token_port_) + "\"\n" + admin_extra());
  }
  // Lines for [admin] besides token_listen.
  virtual std::string admin_extra() const { return ""; }

  std::string token_url(const std::string& path) const {
    return "http://127.0.0.1:" + std::to_string(token_port_) + path;
  }
  int admin_port() const { return port_of(daemon_->url("")); }

  // `curl -sS -X METHOD URL` with the admin key and no body: {status, body}.
  std::pair<int, std::string> curl(const std::string& method, const std::string& path) {
    const std::string curl_bin = test::find_in_path("curl");
    require(!curl_bin.empty(), "curl is not installed");
    test::ProcessOptions opts;
    opts.log_dir = dir_;
    opts.name = "curl-" + random_hex("", 6);
    const auto r = test::run_process(curl_bin,
                                     {"-sS", "-X", method, "-H", "Authorization: Bearer " + daemon().api_key(), "-w",
                                      "\n%{http_code}", "--max-time", "30", daemon().url(path)},
                                     opts, 40s);
    require(r.exit_code == 0, "curl " + method + " " + path + " failed: " + r.err);
    const auto nl = r.out.rfind('\n');
    return {std::stoi(r.out.substr(nl + 1)), r.out.substr(0, nl)};
  }

  int token_port_ = 0;
};

TEST_F(HttpEdge, CurlPostWithoutABodyWorksOnEveryPostRoute) {
  auto& fake = start_fake({});
  register_fake_app(fake, "shop", "client_secret_post", false, /*client_credentials=*/true);
  register_fake_app(fake, "web", "client_secret_post");
  const std::int64_t grant = connect("web", "alice");
  ASSERT_TRUE(eventually([&] { return daemon().get("/v1/apps/shop/token").status == 200; }, 15s));
  const std::string id = std::to_string(grant);

  // The routes that take no body answer as they do with one (RFC 9112 §6.3: no Content-Length and
  // no Transfer-Encoding is an empty body), not the 400 "needs Content-Length: 0" of before.
  auto refresh_app = curl("POST", "/v1/apps/shop/refresh");
  EXPECT_EQ(refresh_app.first, 200) << refresh_app.second;
  EXPECT_FALSE(json::parse(refresh_app.second).value("access_token", "").empty());
  remember_secret(json::parse(refresh_app.second).value("access_token", ""));
  auto refresh_grant = curl("POST", "/v1/grants/" + id + "/refresh");
  EXPECT_EQ(refresh_grant.first, 200) << refresh_grant.second;
  remember_secret(json::parse(refresh_grant.second).value("access_token", ""));
  auto authorize = curl("POST", "/v1/apps/web/authorize");
  EXPECT_EQ(authorize.first, 200) << authorize.second;
  EXPECT_NE(json::parse(authorize.second).value("connect_url", "").find("/connect/start?ticket="), std::string::npos);
  auto recover = curl("POST", "/v1/grants/" + id + "/recover");  // an oauth2 grant: a real answer, not a 400
  EXPECT_EQ(recover.first, 409) << recover.second;
  EXPECT_EQ(json::parse(recover.second).value("error", ""), "not_supported") << recover.second;

  // Every POST route of the table: a JSON answer of its own, never about a missing length.
  int posts = 0;
  for (const auto& route : route_table()) {
    if (route.method != "POST") continue;
    ++posts;
    std::string path(route.pattern);
    for (const auto& [param, value] :
         {std::pair<std::string, std::string>{"{name}", "web"}, {"{id}", id}, {"{app}", "web"}}) {
      if (auto p = path.find(param); p != std::string::npos) path.replace(p, param.size(), value);
    }
    const auto [status, body] = curl("POST", path);
    EXPECT_NE(status, 411) << path << ": " << body;
    EXPECT_NE(status, 0) << path;
    EXPECT_EQ(body.find("Content-Length"), std::string::npos) << path << ": " << body;
    if (path.rfind("/v1/", 0) == 0) {  // (WeChat's push URL answers WeChat in plain text)
      EXPECT_FALSE(json::parse(body, nullptr, false).is_discarded()) << path << ": " << body;
    }
    EXPECT_LT(status, 500) << path << ": " << body;
  }
  EXPECT_GE(posts, 10);
}

class TricklingClients : public HttpEdge {
 protected:
  std::string admin_extra() const override { return "header_timeout_seconds = 2"; }
};

TEST_F(TricklingClients, AreCutAtTheHeadDeadlineWhileOthersGetAnswers) {
  constexpr int kPerListener = 100;
  constexpr auto kHeadDeadline = 2s;
  constexpr auto kSlack = 1500ms;  // timer granularity, a loaded 2-core machine
  const std::string head = "GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Slow: " + std::string(64, 'a');
  struct Trickler {
    std::unique_ptr<Conn> conn;
    Clock::time_point opened;
    std::optional<Clock::duration> cut_after;
    std::size_t sent = 0;
    std::string answer;
  };
  std::vector<Trickler> tricklers;
  for (int port : {admin_port(), token_port_}) {
    for (int i = 0; i < kPerListener; ++i) {
      Trickler t;
      t.conn = std::make_unique<Conn>(port);
      t.opened = Clock::now();
      tricklers.push_back(std::move(t));
    }
  }

  // One byte a second on each connection, from a thread of its own, until the server closes it
  // (or 15 s pass: then the check below fails).
  std::thread trickle([&] {
    const auto started = Clock::now();
    auto next_byte = started;
    for (;;) {
      const auto now = Clock::now();
      const bool tick = now >= next_byte;
      bool open = false;
      for (auto& t : tricklers) {
        if (t.cut_after) continue;
        if (!t.conn->read_available(t.answer) ||
            (tick && t.conn->send_some(head.substr(t.sent++ % head.size(), 1)) < 0)) {
          t.cut_after = Clock::now() - t.opened;
        }
        open = open || !t.cut_after;
      }
      if (tick) next_byte += 1s;
      if (!open || now - started > 15s) break;
      std::this_thread::sleep_for(20ms);
    }
  });

  // Meanwhile other clients get answers on both listeners, promptly.
  int answered = 0;
  std::chrono::milliseconds slowest{0};
  const auto until = Clock::now() + kHeadDeadline + kSlack;
  while (Clock::now() < until) {
    for (const auto& url : {daemon().url("/healthz"), token_url("/healthz")}) {
      const auto t0 = Clock::now();
      const auto r = test::http_request("GET", url, "", "", {}, 5s);
      slowest = std::max(slowest, std::chrono::duration_cast<std::chrono::milliseconds>(Clock::now() - t0));
      EXPECT_EQ(r.status, 200) << url << ": " << r.describe();
      if (r.status == 200) ++answered;
    }
    std::this_thread::sleep_for(100ms);
  }
  const auto tokens = test::http_request("GET", token_url("/v1/apps/none/token"), "", "",
                                         {{"Authorization", "Bearer " + daemon().api_key()}}, 5s);
  EXPECT_EQ(tokens.status, 404) << tokens.describe();
  trickle.join();

  EXPECT_GE(answered, 20);
  EXPECT_LT(slowest, 1000ms) << "answers while 200 clients trickle";
  Clock::duration latest{0};
  for (const auto& t : tricklers) {
    ASSERT_TRUE(t.cut_after.has_value()) << "a trickling client is still connected after 15 s";
    EXPECT_GE(*t.cut_after, kHeadDeadline - 200ms) << "cut before the deadline";
    latest = std::max(latest, *t.cut_after);
    // Cut with a 408 or just closed: never an answer to the half request.
    EXPECT_TRUE(t.answer.empty() || t.answer.rfind("HTTP/1.1 408", 0) == 0) << t.answer.substr(0, 100);
  }
  EXPECT_LE(latest, kHeadDeadline + kSlack)
      << "the last trickler was cut after " << std::chrono::duration_cast<std::chrono::milliseconds>(latest).count()
      << " ms";
}

class IdleConnections : public HttpEdge {
 protected:
  // Long deadlines: the connections below stay open through the test instead of being cut.
  std::string admin_extra() const override { return "header_timeout_seconds = 120\nidle_timeout_seconds = 120"; }
};

TEST_F(IdleConnections, TenThousandDoNotStopNewRequests) {
  raise_own_open_file_limit();
  auto& fake = start_fake({});
  register_fake_app(fake, "idle", "client_secret_post");
  const std::string grant_path = "/v1/grants/" + std::to_string(connect("idle", "carol")) + "/token";

  constexpr int kIdle = 10000;
  std::vector<std::unique_ptr<Conn>> idle;
  idle.reserve(kIdle);
  for (int i = 0; i < kIdle; ++i) idle.push_back(std::make_unique<Conn>(admin_port()));

  // The server accepted them all (connect returns once the kernel queues it; a request proves it
  // reached the daemon): new requests on both listeners are answered promptly.
  std::chrono::milliseconds slowest{0};
  for (int i = 0; i < 20; ++i) {
    for (const auto& url : {daemon().url(grant_path), token_url(grant_path)}) {
      const auto t0 = Clock::now();
      const auto r = test::http_request("GET", url, "", "", {{"Authorization", "Bearer " + daemon().api_key()}}, 10s);
      slowest = std::max(slowest, std::chrono::duration_cast<std::chrono::milliseconds>(Clock::now() - t0));
      ASSERT_EQ(r.status, 200) << url << ": " << r.describe();
      remember_secret(r.json().value("access_token", ""));
    }
  }
  EXPECT_LT(slowest, 1000ms);
  EXPECT_EQ(daemon().post("/v1/apps/idle/authorize").status, 200) << "the handler pool too";

  // The idle ones are still open, and each is served when it finally asks.
  std::string in;
  int still_open = 0;
  for (const auto& c : idle) still_open += c->read_available(in) ? 1 : 0;
  EXPECT_EQ(still_open, kIdle);
  for (int i = 0; i < kIdle; i += 997) {
    ASSERT_GT(idle[i]->send_some("GET /healthz HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n"), 0);
    std::string answer;
    EXPECT_TRUE(idle[i]->closed_within(10s, answer));
    EXPECT_EQ(answer.rfind("HTTP/1.1 200 OK\r\n", 0), 0u) << answer.substr(0, 200);
  }
}

TEST_F(HttpEdge, OneMegabyteHeadIsRefusedWith431WithoutTheDaemonGrowing) {
  // Sends a request whose head is 1 MB while reading, and returns what the server answered before it closed.
  auto send_huge_head = [&](int port) {
    const std::string request = "GET /healthz HTTP/1.1\r\nHost: x\r\nX-Big: " + std::string(1 << 20, 'a') + "\r\n\r\n";
    Conn c(port);
    std::string answer;
    std::size_t sent = 0;
    const auto deadline = Clock::now() + 20s;
    while (Clock::now() < deadline) {
      if (!c.read_available(answer)) break;  // closed
      if (sent < request.size()) {
        const ssize_t n = c.send_some(std::string_view(request).substr(sent, 65536));
        if (n < 0) {
          c.closed_within(5s, answer);
          break;
        }
        sent += static_cast<std::size_t>(n);
      }
      pollfd p{c.fd(), static_cast<short>(POLLIN | (sent < request.size() ? POLLOUT : 0)), 0};
      ::poll(&p, 1, 100);
    }
    return answer;
  };
  for (int port : {admin_port(), token_port_}) {
    const auto answer = send_huge_head(port);
    EXPECT_EQ(answer.rfind("HTTP/1.1 431 ", 0), 0u) << port << ": " << answer.substr(0, 200);
  }
  const long before = resident_kib(daemon().pid());
  std::vector<std::thread> clients;
  std::atomic<int> refused{0};
  for (int i = 0; i < 8; ++i) {
    clients.emplace_back([&, i] {
      for (int j = 0; j < 8; ++j) {
        if (send_huge_head(i % 2 ? token_port_ : admin_port()).rfind("HTTP/1.1 431 ", 0) == 0) ++refused;
      }
    });
  }
  for (auto& t : clients) t.join();
  const long after = resident_kib(daemon().pid());
  EXPECT_EQ(refused.load(), 64);
  // 64 MB of heads went in; a server that buffered them would hold tens of MB more.
  EXPECT_LT(after - before, 8 * 1024) << "VmRSS " << before << " KiB -> " << after << " KiB";
  EXPECT_EQ(daemon().get("/healthz").status, 200);
}

TEST_F(HttpEdge, ChunkedBodiesExpectContinueHeadHttp10AndPipelining) {
  auto& fake = start_fake({});
  const std::string secret = random_hex("csec-", 32);
  remember_secret(secret);
  fake.register_client("cid-chunked", secret, "client_secret_post", {daemon().callback_url()});
  const std::string app =
      json{{"name", "chunked"},
           {"platform", "oauth2"},
           {"client_id", "cid-chunked"},
           {"client_secret", secret},
           {"endpoints", {{"authorize_url", fake.issuer() + "/authorize"}, {"token_url", fake.issuer() + "/token"}}}}
          .dump();
  const std::string auth = "Authorization: Bearer " + daemon().api_key() + "\r\n";

  // A chunked body (in three chunks) within admin.max_body_bytes is read whole.
  std::ostringstream chunked;
  chunked << "POST /v1/apps HTTP/1.1\r\nHost: x\r\n"
          << auth << "Content-Type: application/json\r\nTransfer-Encoding: chunked\r\nConnection: close\r\n\r\n";
  for (std::size_t at = 0; at < app.size(); at += 40) {
    const auto piece = app.substr(at, 40);
    chunked << std::hex << piece.size() << "\r\n" << piece << "\r\n";
  }
  chunked << "0\r\n\r\n";
  const auto created = raw_exchange(daemon().url(""), chunked.str());
  EXPECT_EQ(created.rfind("HTTP/1.1 201 ", 0), 0u) << created.substr(0, 300);
  EXPECT_EQ(daemon().get("/v1/apps/chunked").status, 200);
  // Beyond admin.max_body_bytes (1 MiB): 413, whether chunked or not.
  std::string big = "POST /v1/apps HTTP/1.1\r\nHost: x\r\n" + auth +
                    "Content-Type: application/json\r\nTransfer-Encoding: chunked\r\n\r\n";
  for (int i = 0; i < 20; ++i) big += "10000\r\n" + std::string(0x10000, ' ') + "\r\n";
  big += "0\r\n\r\n";
  const auto too_big = raw_exchange(daemon().url(""), big);
  EXPECT_EQ(too_big.rfind("HTTP/1.1 413 ", 0), 0u) << too_big.substr(0, 300);

  // Expect: 100-continue: the interim answer comes before the body is sent, then the final one.
  {
    std::string body = json{{"url", "https://hooks.example/x"}, {"secret", random_hex("whsec-", 40)}}.dump();
    remember_secret(json::parse(body).value("secret", ""));
    body += std::string(2000, ' ');
    Conn c(admin_port());
    ASSERT_GT(c.send_some("PUT /v1/apps/chunked/webhook HTTP/1.1\r\nHost: x\r\n" + auth +
                          "Content-Type: application/json\r\nExpect: 100-continue\r\nContent-Length: " +
                          std::to_string(body.size()) + "\r\nConnection: close\r\n\r\n"),
              0);
    std::string interim;
    ASSERT_TRUE(
        eventually([&] { return c.read_available(interim) && interim.find("\r\n\r\n") != std::string::npos; }, 5s))
        << interim;
    EXPECT_EQ(interim.rfind("HTTP/1.1 100 Continue\r\n", 0), 0u) << interim;
    ASSERT_EQ(c.send_some(body), static_cast<ssize_t>(body.size()));
    std::string answer;
    EXPECT_TRUE(c.closed_within(10s, answer));
    answer = interim + answer;
    EXPECT_NE(answer.find("HTTP/1.1 200 "), std::string::npos) << answer.substr(0, 300);
  }
  // ... and curl, which waits for the 100 before it sends the body.
  {
    test::ProcessOptions opts;
    opts.log_dir = dir_;
    opts.name = "curl-expect";
    const std::string body_file = dir_ + "/webhook.json";
    const std::string secret2 = random_hex("whsec-", 40);
    remember_secret(secret2);
    test::write_file(body_file,
                     json{{"url", "https://hooks.example/y"}, {"secret", secret2}}.dump() + std::string(2000, ' '));
    const auto r = test::run_process(test::find_in_path("curl"),
                                     {"-sS", "-v", "-X", "PUT", "-H", "Authorization: Bearer " + daemon().api_key(),
                                      "-H", "Content-Type: application/json", "-H", "Expect: 100-continue",
                                      "--expect100-timeout", "20", "--data-binary", "@" + body_file, "-w",
                                      "\n%{http_code}", daemon().url("/v1/apps/chunked/webhook")},
                                     opts, 40s);
    EXPECT_NE(r.err.find("> Expect: 100-continue"), std::string::npos) << r.err;
    EXPECT_NE(r.err.find("< HTTP/1.1 100 Continue"), std::string::npos) << r.err;
    EXPECT_EQ(r.out.substr(r.out.rfind('\n') + 1), "200") << r.out;
  }

  // HEAD: the headers of the GET, no body.
  const auto head =
      raw_exchange(daemon().url(""), "HEAD /v1/apps HTTP/1.1\r\nHost: x\r\n" + auth + "Connection: close\r\n\r\n");
  EXPECT_EQ(head.rfind("HTTP/1.1 200 OK\r\n", 0), 0u) << head.substr(0, 300);
  EXPECT_NE(head.find("Content-Length: "), std::string::npos) << head;
  EXPECT_EQ(head.substr(head.find("\r\n\r\n") + 4), "");

  // HTTP/1.0 without keep-alive: one answer, then the server closes (raw_exchange returns).
  const auto old = raw_exchange(daemon().url(""), "GET /healthz HTTP/1.0\r\n\r\n");
  EXPECT_NE(old.find(" 200 OK\r\n"), std::string::npos) << old;
  EXPECT_EQ(old.rfind("HTTP/1.", 0), 0u) << old;

  // Pipelining: two requests in one write, answered in order on the one connection.
  const auto piped = raw_exchange(daemon().url(""), "GET /v1/apps/chunked HTTP/1.1\r\nHost: x\r\n" + auth +
                                                        "\r\nGET /v1/apps/nosuch HTTP/1.1\r\nHost: x\r\n" + auth +
                                                        "Connection: close\r\n\r\n");
  EXPECT_EQ(count_of(piped, "HTTP/1.1 200 OK\r\n"), 1u) << piped.substr(0, 400);
  EXPECT_EQ(count_of(piped, "HTTP/1.1 404 Not Found\r\n"), 1u) << piped.substr(0, 400);
  EXPECT_LT(piped.find("200 OK"), piped.find("404 Not Found"));
}

}  // namespace
}  // namespace mediax::e2e
