// mediax-bench-platform: the benchmarks' fake OAuth 2.0 platform (bench/run.sh catchup, punctuality,
// reads), event-driven on Boost.Beast and Asio: a few event loops serve every connection and the
// platform's latency is a timer per request, never a sleeping thread. mediax-fake-oauth2 --bulk
// (tests/fakes) gave the same answers from a thread per connection at ~0.39 ms of CPU per refresh, a
// third of the 2-core machine during the catch-up benchmark (issue 22).
//
//   mediax-bench-platform [--bulk] [--port 0] [--host 127.0.0.1] [--latency-ms 20] [--expires-in 3600]
//                         [--threads 2]
// --bulk is the only mode (accepted so the command line reads as the old fake's); --threads is the
// number of event loops. Prints "LISTENING <port>" on stdout once bound; stops on SIGTERM and SIGINT.
//
// The answers are the fake provider's bulk mode (tests/fakes/fake_provider.cpp, linked, not copied,
// so the two fakes cannot drift apart; its bulk path is a form parse and two counters under one mutex):
//   POST /token         any client_id with a non-empty client_secret in the form body (no Basic, as
//                       the bulk mode), grant_type refresh_token (with any non-empty refresh_token)
//                       or client_credentials; 200 {access_token, token_type, expires_in}, no-store
//   GET  /_fake/stats   the provider's counters (refreshes, client_credentials_issued, ...)
//   GET  /_fake/health  {"status":"ok"}
// Nothing is logged per request (bodies carry client secrets and refresh tokens).
#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/signal_set.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/core/tcp_stream.hpp>
#include <boost/beast/http/error.hpp>
#include <boost/beast/http/parser.hpp>
#include <boost/beast/http/read.hpp>
#include <boost/beast/http/string_body.hpp>
#include <boost/beast/http/write.hpp>
#include <algorithm>
#include <chrono>
#include <csignal>
#include <cstdio>
#include <cstdlib>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <thread>
#include <utility>
#include <vector>

#include "fake_provider.hpp"

namespace {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
using tcp = asio::ip::tcp;
using mediax::fake::FormRequest;
using mediax::fake::Options;
using mediax::fake::Provider;
using mediax::fake::Reply;

constexpr std::uint32_t kMaxHeadBytes = 8 * 1024;
constexpr std::uint64_t kMaxBodyBytes = 64 * 1024;  // a /token form is a few hundred bytes
// A connection waiting for its next request (or stuck writing) is closed after this: cpp-httplib's
// keep-alive and read timeouts, which the old fake had, so the daemon's connection reuse sees the same.
constexpr auto kIdleTimeout = std::chrono::seconds(5);
// Requests per connection, then "Connection: close": nginx's keepalive_requests, as the old fake.
constexpr int kMaxRequestsPerConnection = 1000;

void usage(std::FILE* to) {
  std::fprintf(to,
               "usage: mediax-bench-platform [--bulk] [--port N] [--host ADDR] [--latency-ms MS] "
               "[--expires-in SECONDS] [--threads N]\n");
}

bool parse_int(const char* s, long lo, long hi, long& out) {
  char* end = nullptr;
  const long v = std::strtol(s, &end, 10);
  if (end == s || *end != '\0' || v < lo || v > hi) return false;
  out = v;
  return true;
}

bool parse_args(int argc, char** argv, Options& o) {
  for (int i = 1; i < argc; ++i) {
    const std::string a = argv[i];
    const char* s = nullptr;
    long v = 0;
    if (a == "--bulk") continue;
    if (i + 1 >= argc) return false;
    s = argv[++i];
    if (a == "--port" && parse_int(s, 0, 65535, v)) {
      o.port = static_cast<int>(v);
    } else if (a == "--host" && s[0] != '\0') {
      o.host = s;
    } else if (a == "--expires-in" && parse_int(s, 1, 100000000, v)) {
      o.expires_in = v;
    } else if (a == "--latency-ms" && parse_int(s, 0, 60000, v)) {
      o.latency_ms = static_cast<int>(v);
    } else if (a == "--threads" && parse_int(s, 1, 64, v)) {
      o.threads = static_cast<int>(v);
    } else {
      return false;
    }
  }
  return true;
}

Reply json_reply(int status, std::string body) {
  Reply r;
  r.status = status;
  r.body = std::move(body);
  return r;
}

// One connection: read a request, wait the latency for /token, answer, read the next; one
// operation under way at a time, so its handlers never run concurrently (no strand needed).
class Session : public std::enable_shared_from_this<Session> {
 public:
  Session(tcp::socket socket, Provider& provider, std::chrono::milliseconds latency)
      : stream_(std::move(socket)), timer_(stream_.get_executor()), provider_(provider), latency_(latency) {}

  void read() {
    parser_.emplace();
    parser_->header_limit(kMaxHeadBytes);
    parser_->body_limit(kMaxBodyBytes);
    stream_.expires_after(kIdleTimeout);
    http::async_read(stream_, buffer_, *parser_,
                     [self = shared_from_this()](beast::error_code ec, std::size_t) { self->on_read(ec); });
  }

 private:
  void on_read(beast::error_code ec) {
    if (ec == http::error::body_limit) return refuse(413, "payload_too_large");
    if (ec == http::error::header_limit) return refuse(431, "header_too_large");
    // end_of_stream and partial_message: the client went away; socket errors and timeouts likewise.
    if (ec == http::error::end_of_stream || ec == http::error::partial_message) return close();
    if (ec && ec.category() == http::make_error_code(http::error::bad_target).category()) {
      return refuse(400, "bad_request");
    }
    if (ec) return close();

    const auto& req = parser_->get();
    ++requests_;
    keep_alive_ = req.keep_alive() && requests_ < kMaxRequestsPerConnection;
    const beast::string_view target = req.target();
    const std::string_view path(target.data(), std::min(target.size(), target.find('?')));
    if (path == "/token") {
      if (req.method() != http::verb::post) return not_allowed("POST");
      if (latency_.count() == 0) return token();
      // The platform's latency: a timer, so a waiting request holds no thread.
      timer_.expires_after(latency_);
      timer_.async_wait([self = shared_from_this()](beast::error_code) { self->token(); });
      return;
    }
    if (path == "/_fake/stats") {
      if (req.method() != http::verb::get) return not_allowed("GET");
      return answer(provider_.stats());
    }
    if (path == "/_fake/health") {
      if (req.method() != http::verb::get) return not_allowed("GET");
      return answer(json_reply(200, R"({"status":"ok"})"));
    }
    answer(json_reply(404, R"({"error":"not_found"})"));
  }

  void token() {
    auto& req = parser_->get();
    auto header = [&req](http::field f) {
      const beast::string_view v = req[f];
      return std::string(v.data(), v.size());
    };
    answer(provider_.token(
        FormRequest{std::move(req.body()), header(http::field::content_type), header(http::field::authorization)}));
  }

  void not_allowed(const char* allow) {
    Reply r = json_reply(405, R"({"error":"method_not_allowed"})");
    r.headers.emplace_back("Allow", allow);
    answer(std::move(r));
  }

  // A request that could not be parsed: answered, then the connection closes (what follows in the
  // stream cannot be framed).
  void refuse(int status, const char* error) {
    keep_alive_ = false;
    answer(json_reply(status, std::string(R"({"error":")") + error + "\"}"));
  }

  void answer(Reply r) {
    res_ = {};
    res_.result(static_cast<unsigned>(r.status));
    res_.version(parser_->get().version() == 10 ? 10 : 11);
    res_.set(http::field::content_type, r.content_type);
    for (const auto& [name, value] : r.headers) res_.set(name, value);
    res_.body() = std::move(r.body);
    res_.keep_alive(keep_alive_);
    res_.prepare_payload();
    stream_.expires_after(kIdleTimeout);
    http::async_write(stream_, res_, [self = shared_from_this()](beast::error_code ec, std::size_t) {
      if (ec || !self->keep_alive_) return self->close();
      self->read();
    });
  }

  void close() {
    beast::error_code ignored;
    stream_.socket().shutdown(tcp::socket::shutdown_send, ignored);
    stream_.close();
  }

  beast::tcp_stream stream_;
  asio::steady_timer timer_;
  beast::flat_buffer buffer_;
  std::optional<http::request_parser<http::string_body>> parser_;
  http::response<http::string_body> res_;
  Provider& provider_;
  std::chrono::milliseconds latency_;
  int requests_ = 0;
  bool keep_alive_ = false;
};

// Accepts on the first loop and hands each connection to the next loop in turn.
class Listener {
 public:
  Listener(asio::io_context& accept_loop, std::vector<asio::io_context*> loops, Provider& provider,
           std::chrono::milliseconds latency)
      : acceptor_(accept_loop), loops_(std::move(loops)), provider_(provider), latency_(latency) {}

  // The bound port, or an error.
  std::optional<unsigned short> bind(const std::string& host, int port, beast::error_code& ec) {
    const tcp::endpoint at(asio::ip::make_address(host, ec), static_cast<unsigned short>(port));
    if (ec) return std::nullopt;
    acceptor_.open(at.protocol(), ec);
    if (!ec) acceptor_.set_option(asio::socket_base::reuse_address(true), ec);
    if (!ec) acceptor_.bind(at, ec);
    // The widest queue: a refresh burst opens many keep-alive connections at once.
    if (!ec) acceptor_.listen(asio::socket_base::max_listen_connections, ec);
    if (ec) return std::nullopt;
    return acceptor_.local_endpoint().port();
  }

  void accept() {
    asio::io_context& loop = *loops_[next_++ % loops_.size()];
    acceptor_.async_accept(loop, [this, &loop](beast::error_code ec, tcp::socket socket) {
      if (ec == asio::error::operation_aborted) return;
      if (!ec) {
        auto session = std::make_shared<Session>(std::move(socket), provider_, latency_);
        asio::post(loop, [session] { session->read(); });  // started on its own loop's thread
      }
      accept();
    });
  }

 private:
  tcp::acceptor acceptor_;
  std::vector<asio::io_context*> loops_;
  Provider& provider_;
  std::chrono::milliseconds latency_;
  std::size_t next_ = 0;
};

}  // namespace

int main(int argc, char** argv) {
  Options opts;
  opts.threads = 2;  // two event loops: on the 2-core machine a refresh burst finds whichever core is free
  if (!parse_args(argc, argv, opts)) {
    usage(stderr);
    return 2;
  }
  opts.bulk = true;
  Provider provider(opts);

  // One io_context per event loop, each run by one thread (concurrency hint 1: no scheduler sharing).
  std::vector<std::unique_ptr<asio::io_context>> contexts;
  std::vector<asio::io_context*> loops;
  for (int i = 0; i < opts.threads; ++i) {
    contexts.push_back(std::make_unique<asio::io_context>(1));
    loops.push_back(contexts.back().get());
  }
  Listener listener(*loops.front(), loops, provider, std::chrono::milliseconds(opts.latency_ms));
  beast::error_code ec;
  const auto port = listener.bind(opts.host, opts.port, ec);
  if (!port) {
    std::fprintf(stderr, "mediax-bench-platform: cannot bind %s:%d: %s\n", opts.host.c_str(), opts.port,
                 ec.message().c_str());
    return 1;
  }
  provider.set_base_url("http://" + opts.host + ":" + std::to_string(*port));
  listener.accept();

  asio::signal_set signals(*loops.front(), SIGINT, SIGTERM);
  signals.async_wait([&loops](beast::error_code, int) {
    for (auto* loop : loops) loop->stop();
  });
  std::vector<asio::executor_work_guard<asio::io_context::executor_type>> idle;  // loops with no connection yet
  for (auto* loop : loops) idle.push_back(asio::make_work_guard(*loop));

  std::printf("LISTENING %u\n", static_cast<unsigned>(*port));
  std::fflush(stdout);
  std::vector<std::thread> threads;
  for (std::size_t i = 1; i < loops.size(); ++i) threads.emplace_back([loop = loops[i]] { loop->run(); });
  loops.front()->run();
  for (auto& t : threads) t.join();
  return 0;
}
