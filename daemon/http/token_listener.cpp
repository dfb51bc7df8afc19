#include "http/token_listener.hpp"

#include <spdlog/spdlog.h>

#include <algorithm>
#include <array>
#include <atomic>
#include <boost/asio.hpp>
#include <charconv>
#include <optional>
#include <stdexcept>
#include <string_view>
#include <thread>
#include <vector>

#include <nlohmann/json.hpp>

#include "http/answers.hpp"
#include "http/auth.hpp"
#include "http/json_mapping.hpp"
#include "service/api_error.hpp"
#include "service/api_keys.hpp"
#include "service/token_reads.hpp"
#include "util/host_port.hpp"
#include "util/strings.hpp"

namespace mediax {

namespace asio = boost::asio;
using tcp = asio::ip::tcp;

namespace {

constexpr std::size_t kMaxHead = 8192;  // request line and headers; 431 above
constexpr std::size_t kMaxHeaders = 100;
constexpr auto kIdleTimeout = std::chrono::seconds(5);    // a kept-alive connection with no request
constexpr auto kWriteTimeout = std::chrono::seconds(10);  // a client that does not read its answer
constexpr std::size_t kMaxConnections = 10000;
constexpr int kBlockingThreads = 4;

const char* reason(int status) {
  switch (status) {
    case 200: return "OK";
    case 400: return "Bad Request";
    case 401: return "Unauthorized";
    case 403: return "Forbidden";
    case 404: return "Not Found";
    case 405: return "Method Not Allowed";
    case 409: return "Conflict";
    case 411: return "Length Required";
    case 431: return "Request Header Fields Too Large";
    case 500: return "Internal Server Error";
    case 502: return "Bad Gateway";
    case 503: return "Service Unavailable";
    case 505: return "HTTP Version Not Supported";
    default: return "Error";
  }
}

// Whether a comma-separated header value (Connection) lists token, case-insensitively.
bool lists(std::string_view value, std::string_view token) {
  while (!value.empty()) {
    const auto comma = value.find(',');
    if (util::iequals(util::trim(value.substr(0, comma), " \t"), token)) return true;
    if (comma == std::string_view::npos) break;
    value.remove_prefix(comma + 1);
  }
  return false;
}

// Strict percent-decoding of a path; nullopt on a bad escape or a NUL.
std::optional<std::string> decode_path(std::string_view p) {
  std::string out;
  out.reserve(p.size());
  for (std::size_t i = 0; i < p.size(); ++i) {
    if (p[i] != '%') {
      out += p[i];
      continue;
    }
    if (i + 2 >= p.size()) return std::nullopt;
    unsigned v = 0;
    const auto [end, ec] = std::from_chars(p.data() + i + 1, p.data() + i + 3, v, 16);
    if (ec != std::errc() || end != p.data() + i + 3 || v == 0) return std::nullopt;
    out += static_cast<char>(v);
    i += 2;
  }
  return out;
}

struct Request {
  std::string method;
  std::string path;  // decoded, without the query
  std::string authorization;
  bool keep_alive = true;
  bool http10 = false;
};

struct Answer {
  int status = 200;
  std::string body;
  std::string headers;  // extra header lines, each ending in \r\n
  bool close = false;   // close the connection after it
};

Answer json_answer(int status, const nlohmann::json& body) {
  Answer a;
  a.status = status;
  a.body = json_text(body);
  return a;
}

Answer error_answer(int status, const std::string& code, const std::string& message) {
  return json_answer(status, error_body(code, message));
}

Answer refusal_answer(const AuthRefusal& r) {
  auto a = error_answer(r.status, r.code, r.message);
  if (r.status == 401) a.headers = "WWW-Authenticate: " + r.www_authenticate() + "\r\n";
  return a;
}

std::string serialize(const Request* req, const Answer& a, bool close) {
  std::string out;
  out.reserve(160 + a.body.size() + a.headers.size());
  out += "HTTP/1.1 ";
  out += std::to_string(a.status);
  out += ' ';
  out += reason(a.status);
  out += "\r\nContent-Type: application/json\r\nContent-Length: ";
  out += std::to_string(a.body.size());
  out += "\r\n";
  if (close) {
    out += "Connection: close\r\n";
  } else if (req != nullptr && req->http10) {
    out += "Connection: keep-alive\r\n";
  }
  out += a.headers;
  out += "\r\n";
  if (req == nullptr || req->method != "HEAD") out += a.body;
  return out;
}

enum class TokenRoute { healthz, grant_token, app_token, none };

struct Routed {
  TokenRoute route = TokenRoute::none;
  std::string_view id;  // the grant id or app name, a view into the request's path
};

Routed route_of(const std::string& path) {
  if (path == "/healthz") return {TokenRoute::healthz, {}};
  static constexpr std::string_view kSuffix = "/token";
  const std::string_view p = path;
  if (p.size() <= kSuffix.size() || p.substr(p.size() - kSuffix.size()) != kSuffix) return {};
  for (auto [prefix, route] : {std::pair{std::string_view("/v1/grants/"), TokenRoute::grant_token},
                               std::pair{std::string_view("/v1/apps/"), TokenRoute::app_token}}) {
    if (p.size() > prefix.size() + kSuffix.size() && p.substr(0, prefix.size()) == prefix) {
      const auto id = p.substr(prefix.size(), p.size() - prefix.size() - kSuffix.size());
      if (id.find('/') == std::string_view::npos) return {route, id};
    }
  }
  return {};
}

}  // namespace

struct TokenListener::Impl {
  TokenReads& reads;
  ApiKeyRegistry& keys;
  AdminConfig config;
  std::function<bool()> database_reachable;
  const TimeSource& time;
  // Before io: connections still queued in io's handlers when it is destroyed count themselves out.
  std::atomic<std::size_t> connections{0};
  asio::io_context io;
  std::optional<asio::executor_work_guard<asio::io_context::executor_type>> work;
  asio::thread_pool blocking{kBlockingThreads};
  tcp::acceptor acceptor{io};
  asio::steady_timer accept_retry{io};
  std::vector<std::thread> threads;
  int port = 0;
  bool stopped = false;
  std::mutex stop_mu;

  Impl(TokenReads& r, ApiKeyRegistry& k, const AdminConfig& c, std::function<bool()> reachable, const TimeSource& t)
      : reads(r), keys(k), config(c), database_reachable(std::move(reachable)), time(t) {}

  Answer token_answer(const Expected<Token>& t) {
    if (!t) {
      const auto e = error_answer(t.error());
      return json_answer(e.status, e.body);
    }
    auto a = json_answer(200, to_json(*t));
    a.headers = "Cache-Control: no-store\r\n";
    if (serving_stale(database_reachable)) {
      for (const auto& [name, value] : kStaleHeaders) {
        a.headers.append(name).append(": ").append(value).append("\r\n");
      }
    }
    return a;
  }

  // Answers on the event loop when nothing needs the database; nullopt: call answer_blocking.
  std::optional<Answer> answer_now(const Request& req) {
    const auto r = route_of(req.path);
    if (r.route == TokenRoute::none) {
      return error_answer(404, "not_found",
                          "no route for " + req.method + " " + req.path +
                              " on the token listener (admin.token_listen): it serves GET /v1/grants/{id}/token, "
                              "GET /v1/apps/{name}/token and /healthz; the rest of the API is on admin.listen");
    }
    if (req.method != "GET" && req.method != "HEAD") {
      auto a = error_answer(405, "method_not_allowed", "the token listener serves GET and HEAD only");
      a.headers = "Allow: GET, HEAD\r\n";
      return a;
    }
    if (r.route == TokenRoute::healthz) return json_answer(200, {{"status", "ok"}});
    // Authorization first, as on the admin API; both token routes are Access::reader.
    const std::string key = bearer_key(req.authorization);
    if (key.empty()) return refusal_answer(refuse_no_key(req.method, req.path));
    const auto match = keys.check_if_loaded(key);
    if (!match) return std::nullopt;
    if (auto refused = refuse_match(req.method, req.path, Access::reader, *match)) return refusal_answer(*refused);
    if (r.route == TokenRoute::app_token) return std::nullopt;
    std::int64_t id = 0;
    try {
      id = parse_grant_id(r.id);
    } catch (const ApiError& e) {
      return token_answer(tl::unexpected(e));
    }
    auto t = reads.cached_grant_token(id);
    if (!t) return token_answer(tl::unexpected(t.error()));
    if (*t) return token_answer(**t);
    return std::nullopt;
  }

  // The same answer, reaching the database where it must (on the blocking pool).
  Answer answer_blocking(const Request& req) {
    try {
      const auto r = route_of(req.path);
      const std::string key = bearer_key(req.authorization);
      ApiKeyMatch m;
      try {
        m = keys.check(key);
      } catch (const std::exception& e) {
        return refusal_answer(refuse_unchecked(req.method, req.path, e));
      }
      if (auto refused = refuse_match(req.method, req.path, Access::reader, m)) return refusal_answer(*refused);
      const auto current = [this](const RefreshKey& k) { return reads.current_token(k); };
      if (r.route == TokenRoute::app_token) {
        return token_answer(reads.app_token_key(std::string(r.id)).and_then(current));
      }
      return token_answer(reads.grant_key(parse_grant_id(r.id)).and_then(current));
    } catch (const std::exception&) {
      const auto e = error_for_current_exception(req.method, req.path, " (token listener)");
      return json_answer(e.status, e.body);
    }
  }

  void accept();
};

namespace {

// One client connection. Requests are answered in order (pipelined ones too); at most one read,
// one write and one blocking answer are outstanding, all on the connection's strand.
class Connection : public std::enable_shared_from_this<Connection> {
 public:
  Connection(TokenListener::Impl& owner, tcp::socket socket)
      : owner_(owner), socket_(std::move(socket)), timer_(socket_.get_executor()) {}

  ~Connection() { owner_.connections.fetch_sub(1); }

  void start(bool over_capacity) {
    boost::system::error_code ignored;
    socket_.set_option(tcp::no_delay(true), ignored);
    deadline_ = owner_.time.monotonic() + kIdleTimeout;
    arm_timer();
    if (over_capacity) {
      spdlog::warn("token listener: {} connections open, refusing another", kMaxConnections);
      out_ = serialize(nullptr,
                       error_answer(503, "too_many_connections", "too many open connections; try again shortly"), true);
      closing_ = true;
    }
    process();
  }

 private:
  enum class Parse { incomplete, request, bad };

  // Takes one request head off the front of in_.
  Parse parse(Request& req, Answer& bad) {
    std::size_t start = 0;
    while (start < in_.size() && (in_[start] == '\r' || in_[start] == '\n')) ++start;  // RFC 9112 §2.2
    std::vector<std::string_view> lines;
    std::size_t pos = start;
    bool complete = false;
    while (true) {
      const auto nl = in_.find('\n', pos);
      if (nl == std::string::npos) break;
      std::string_view line(in_.data() + pos, nl - pos);
      if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
      pos = nl + 1;
      if (line.empty()) {
        complete = true;
        break;
      }
      lines.push_back(line);
      if (lines.size() > kMaxHeaders + 1) {
        bad = error_answer(431, "headers_too_large", "too many request header fields");
        return Parse::bad;
      }
    }
    if (!complete) {
      if (in_.size() - start > kMaxHead) {
        bad = error_answer(431, "headers_too_large", "the request head is larger than 8 KiB");
        return Parse::bad;
      }
      in_.erase(0, start);
      return Parse::incomplete;
    }
    if (pos - start > kMaxHead) {
      bad = error_answer(431, "headers_too_large", "the request head is larger than 8 KiB");
      return Parse::bad;
    }
    const auto malformed = [&bad](const std::string& what) {
      bad = error_answer(400, "bad_request", "malformed HTTP request: " + what);
      return Parse::bad;
    };
    const auto request_line = lines.front();
    const auto sp1 = request_line.find(' ');
    const auto sp2 = sp1 == std::string_view::npos ? sp1 : request_line.find(' ', sp1 + 1);
    if (sp2 == std::string_view::npos || request_line.find(' ', sp2 + 1) != std::string_view::npos || sp1 == 0) {
      return malformed("the request line is not METHOD TARGET HTTP/1.x");
    }
    const auto method = request_line.substr(0, sp1);
    const auto target = request_line.substr(sp1 + 1, sp2 - sp1 - 1);
    const auto version = request_line.substr(sp2 + 1);
    if (version == "HTTP/1.0") {
      req.http10 = true;
      req.keep_alive = false;
    } else if (version != "HTTP/1.1") {
      if (version.substr(0, 5) == "HTTP/") {
        bad = error_answer(505, "http_version_not_supported", "HTTP/1.0 and HTTP/1.1 only");
        return Parse::bad;
      }
      return malformed("the request line is not METHOD TARGET HTTP/1.x");
    }
    if (target.empty() || target.front() != '/') return malformed("the target must be a path (origin form)");
    auto path = decode_path(target.substr(0, target.find_first_of("?#")));
    if (!path) return malformed("bad percent-encoding in the path");
    req.method.assign(method);
    req.path = std::move(*path);
    for (std::size_t i = 1; i < lines.size(); ++i) {
      const auto line = lines[i];
      const auto colon = line.find(':');
      if (colon == std::string_view::npos || colon == 0 || line.front() == ' ' || line.front() == '\t') {
        return malformed("a header line is not NAME: VALUE");
      }
      const auto name = line.substr(0, colon);
      if (name.back() == ' ' || name.back() == '\t') return malformed("whitespace before a header's colon");
      const auto value = util::trim(line.substr(colon + 1), " \t");
      if (util::iequals(name, "authorization")) {
        req.authorization.assign(value);
      } else if (util::iequals(name, "connection")) {
        if (lists(value, "close")) req.keep_alive = false;
        if (req.http10 && lists(value, "keep-alive")) req.keep_alive = true;
      } else if (util::iequals(name, "content-length")) {
        if (value != "0") {
          bad = error_answer(400, "bad_request", "token reads have no request body");
          return Parse::bad;
        }
      } else if (util::iequals(name, "transfer-encoding")) {
        bad = error_answer(400, "bad_request", "token reads have no request body (Transfer-Encoding)");
        return Parse::bad;
      }
    }
    in_.erase(0, pos);
    return Parse::request;
  }

  void process() {
    while (!closing_ && !busy_ && !closed_) {
      Request req;
      Answer bad;
      const auto parsed = parse(req, bad);
      if (parsed == Parse::incomplete) break;
      if (parsed == Parse::bad) {
        spdlog::debug("http token listener: malformed request -> {}", bad.status);
        out_ += serialize(nullptr, bad, true);
        closing_ = true;
        break;
      }
      if (auto a = owner_.answer_now(req)) {
        reply(req, *a);
        continue;
      }
      busy_ = true;
      asio::post(owner_.blocking, [self = shared_from_this(), req = std::move(req)]() mutable {
        auto a = self->owner_.answer_blocking(req);
        asio::post(self->socket_.get_executor(), [self, req = std::move(req), a = std::move(a)] {
          self->busy_ = false;
          if (self->closed_) return;
          self->reply(req, a);
          self->process();
        });
      });
    }
    if (closed_ || reading_ || writing_) return;
    if (!out_.empty()) return write();
    if (closing_) return close();
    if (!busy_) read();
  }

  void reply(const Request& req, const Answer& a) {
    spdlog::debug("http {} {} -> {} (token listener)", req.method, req.path, a.status);
    const bool close = !req.keep_alive || a.close;
    out_ += serialize(&req, a, close);
    if (close) closing_ = true;
  }

  void read() {
    reading_ = true;
    deadline_ = owner_.time.monotonic() + kIdleTimeout;
    socket_.async_read_some(asio::buffer(buf_),
                            [self = shared_from_this()](boost::system::error_code ec, std::size_t n) {
                              self->reading_ = false;
                              if (ec) return self->close();
                              self->in_.append(self->buf_.data(), n);
                              self->process();
                            });
  }

  void write() {
    writing_ = true;
    sending_.swap(out_);
    out_.clear();
    deadline_ = owner_.time.monotonic() + kWriteTimeout;
    asio::async_write(socket_, asio::buffer(sending_),
                      [self = shared_from_this()](boost::system::error_code ec, std::size_t) {
                        self->writing_ = false;
                        self->sending_.clear();
                        if (ec) return self->close();
                        self->process();
                      });
  }

  // The deadline is on the listener's TimeSource; the Asio timer only waits until the TimeSource
  // should have reached it and then asks again (re-arming for what is left, if anything).
  void arm_timer() {
    timer_.expires_after(std::max(deadline_ - owner_.time.monotonic(), MonoClock::duration::zero()));
    timer_.async_wait([self = shared_from_this()](boost::system::error_code ec) {
      if (ec || self->closed_) return;
      const auto now = self->owner_.time.monotonic();
      if (now >= self->deadline_ && !self->busy_) return self->close();
      if (self->busy_) self->deadline_ = now + kIdleTimeout;
      self->arm_timer();
    });
  }

  void close() {
    if (closed_) return;
    closed_ = true;
    boost::system::error_code ignored;
    if (closing_) socket_.shutdown(tcp::socket::shutdown_send, ignored);
    socket_.close(ignored);
    timer_.cancel();
  }

  TokenListener::Impl& owner_;
  tcp::socket socket_;
  asio::steady_timer timer_;
  std::array<char, 4096> buf_{};
  std::string in_, out_, sending_;
  MonoTime deadline_{};
  bool reading_ = false, writing_ = false, busy_ = false, closing_ = false, closed_ = false;
};

}  // namespace

void TokenListener::Impl::accept() {
  acceptor.async_accept(asio::make_strand(io), [this](boost::system::error_code ec, tcp::socket socket) {
    if (ec == asio::error::operation_aborted || !acceptor.is_open()) return;
    if (ec) {
      // Out of file descriptors and the like: try again shortly rather than spin.
      spdlog::warn("token listener: accept failed: {}", ec.message());
      accept_retry.expires_after(std::chrono::milliseconds(100));
      accept_retry.async_wait([this](boost::system::error_code e) {
        if (!e) accept();
      });
      return;
    }
    const bool over = connections.fetch_add(1) >= kMaxConnections;
    std::make_shared<Connection>(*this, std::move(socket))->start(over);
    accept();
  });
}

TokenListener::TokenListener(TokenReads& reads, ApiKeyRegistry& keys, const AdminConfig& config,
                             std::function<bool()> database_reachable, const TimeSource& time)
    : impl_(std::make_unique<Impl>(reads, keys, config, std::move(database_reachable), time)) {}

TokenListener::~TokenListener() { stop(); }

void TokenListener::bind() {
  const auto& listen = impl_->config.token_listen;
  const auto address = util::parse_host_port(listen);
  if (!address || !address->port) throw std::runtime_error("admin.token_listen '" + listen + "' is not host:port");
  const std::string& host = address->host;
  const std::string port = std::to_string(*address->port);
  try {
    tcp::resolver resolver(impl_->io);
    const auto results = resolver.resolve(host, port, tcp::resolver::numeric_service | tcp::resolver::passive);
    const tcp::endpoint ep = *results.begin();
    auto& a = impl_->acceptor;
    a.open(ep.protocol());
    a.set_option(tcp::acceptor::reuse_address(true));  // SO_REUSEADDR only: a busy port is an error
    a.bind(ep);
    a.listen(asio::socket_base::max_listen_connections);
    impl_->port = a.local_endpoint().port();
  } catch (const boost::system::system_error& e) {
    boost::system::error_code ignored;
    impl_->acceptor.close(ignored);
    throw std::runtime_error("cannot listen on " + listen + " (admin.token_listen): " + e.code().message());
  }
}

int TokenListener::port() const { return impl_->port; }

void TokenListener::start() {
  impl_->work.emplace(impl_->io.get_executor());
  impl_->accept();
  for (int i = 0; i < impl_->config.token_threads; ++i) {
    impl_->threads.emplace_back([impl = impl_.get()] {
      try {
        impl->io.run();
      } catch (const std::exception& e) {
        spdlog::error("token listener: event loop failed: {}", e.what());
      }
    });
  }
}

void TokenListener::stop() {
  std::lock_guard lk(impl_->stop_mu);
  if (impl_->stopped) return;
  impl_->stopped = true;
  asio::post(impl_->io, [impl = impl_.get()] {
    boost::system::error_code ignored;
    impl->acceptor.close(ignored);
    impl->accept_retry.cancel();
  });
  impl_->work.reset();
  impl_->io.stop();
  for (auto& t : impl_->threads) t.join();
  impl_->threads.clear();
  impl_->blocking.join();
}

}  // namespace mediax
