// Sockets, TLS, timers and threads around HttpSession (http/http_session.hpp, the protocol): every
// operation is asynchronous on a few event-loop threads, so a slow peer holds nothing but its own
// connection; RequestHandler::answer runs on the handler pool. Each connection works on its own
// strand and has at most one request in flight, so the pool's queue is bounded by the connection caps.
#include "http/http_server.hpp"

#include <spdlog/spdlog.h>

#include <array>
#include <atomic>
#include <boost/asio.hpp>
#include <boost/asio/ssl.hpp>
#include <boost/beast/core/stream_traits.hpp>
#include <mutex>
#include <stdexcept>
#include <thread>
#include <type_traits>
#include <unordered_map>
#include <vector>

#include "http/http_session.hpp"
#include "util/host_port.hpp"

namespace mediax {

namespace asio = boost::asio;
namespace ssl = asio::ssl;
using tcp = asio::ip::tcp;

namespace {

constexpr auto kAcceptRetry = std::chrono::milliseconds(100);  // after EMFILE and the like
constexpr auto kAcceptLogEvery = std::chrono::seconds(1);
// After a final answer, what the client still sends is read and dropped for this long (RFC 9112 §9.6):
// closing with unread bytes makes the kernel send a reset, which can destroy the answer in flight.
constexpr auto kLinger = std::chrono::seconds(2);
constexpr std::size_t kReadBuffer = 16 * 1024;

// The server's metrics: each family's name and help written here only.
class ServerMetrics {
 public:
  ServerMetrics(metrics::Registry& reg, const std::string& listener)
      : open(reg.gauge("mediax_http_connections_open", "Open HTTP connections, by listener", {{"listener", listener}})),
        refused(reg.counter("mediax_http_connections_refused_total",
                            "Connections answered 503 and closed because the listener's connection cap was reached",
                            {{"listener", listener}})),
        reg_(reg),
        listener_(listener) {}

  // A connection closed because a deadline passed: phase head, body, idle or write.
  void cut(std::string_view phase) {
    reg_.counter("mediax_http_deadline_cuts_total",
                 "Connections closed because a deadline passed (request head, body, idle between requests, write)",
                 {{"listener", listener_}, {"phase", std::string(phase)}})
        .inc();
  }
  // A request refused before any handler saw it (malformed, too large, unsupported).
  void malformed(int status) {
    reg_.counter("mediax_http_malformed_requests_total",
                 "Requests refused by the server before routing (400, 413, 414, 415, 431, 501, 505), by status",
                 {{"listener", listener_}, {"status", std::to_string(status)}})
        .inc();
  }

  metrics::Gauge& open;
  metrics::Counter& refused;

 private:
  metrics::Registry& reg_;
  std::string listener_;
};

std::string_view phase_name(HttpSession::Phase p) {
  switch (p) {
    case HttpSession::Phase::idle: return "idle";
    case HttpSession::Phase::head: return "head";
    case HttpSession::Phase::body: return "body";
  }
  return "head";
}

class ConnectionBase {
 public:
  virtual ~ConnectionBase() = default;
  virtual void shut() = 0;  // stop(): close at once, on the connection's strand
};

// What a connection needs of its listener; shared, so a connection destroyed with the io_context
// (at the server's destruction) still finds its counters.
struct ListenerState {
  ListenerState(const ListenerSpec& s, metrics::Registry& reg) : spec(s), metrics(reg, s.config_key) {}
  ListenerSpec spec;
  ServerMetrics metrics;
  std::atomic<std::size_t> open{0};
  std::atomic<MonoClock::rep> last_refusal_log{0};  // a flood of refusals is logged once a second
  std::mutex mu;                                    // guards connections
  std::unordered_map<ConnectionBase*, std::weak_ptr<ConnectionBase>> connections;
};

// What every connection uses of the server.
struct ServerContext {
  ServerContext(RequestHandler& h, const ServerLimits& l, const TimeSource& t)
      : handler(h), limits(l), time(t), pool(static_cast<std::size_t>(std::max(1, l.handler_threads))) {}
  SessionLimits session_limits(const ListenerSpec& spec) const {
    return {limits.header_timeout, limits.body_timeout, limits.idle_timeout, limits.max_head_bytes,
            spec.max_body_bytes};
  }

  RequestHandler& handler;
  ServerLimits limits;
  const TimeSource& time;
  asio::thread_pool pool;  // RequestHandler::answer
};

}  // namespace

struct HttpServer::Impl {
  Impl(RequestHandler& h, const ServerLimits& l, const TimeSource& t, metrics::Registry& m)
      : ctx(h, l, t), registry(m) {}

  struct Listener {
    Listener(asio::io_context& io, std::shared_ptr<ListenerState> s)
        : state(std::move(s)), strand(asio::make_strand(io)), acceptor(strand), retry(strand) {}
    std::shared_ptr<ListenerState> state;
    std::optional<ssl::context> tls;
    asio::strand<asio::io_context::executor_type> strand;  // the acceptor's: accept, retry and stop() in turn
    tcp::acceptor acceptor;
    asio::steady_timer retry;
    MonoTime last_accept_log{};
    int port = 0;
  };

  void accept(Listener& l);
  void accepted(Listener& l, tcp::socket socket);

  ServerContext ctx;
  metrics::Registry& registry;
  asio::io_context io;
  std::optional<asio::executor_work_guard<asio::io_context::executor_type>> work;
  std::vector<std::unique_ptr<Listener>> listeners;
  std::vector<std::thread> threads;
  std::mutex stop_mu;
  bool started = false;
  bool stopped = false;
};

namespace {

template <class Stream>
constexpr bool kTls = !std::is_same_v<Stream, tcp::socket>;

// One client connection: reads into its HttpSession, answers what it parses (answer_now here,
// answer() on the pool), writes what the session has for the client, closes at a deadline.
template <class Stream>
class Connection : public ConnectionBase, public std::enable_shared_from_this<Connection<Stream>> {
 public:
  template <class... StreamArgs>
  Connection(ServerContext& server, std::shared_ptr<ListenerState> listener, tcp::socket socket, StreamArgs&&... args)
      : server_(server),
        listener_(std::move(listener)),
        stream_(std::move(socket), std::forward<StreamArgs>(args)...),
        timer_(stream_.get_executor()),
        session_(server.session_limits(listener_->spec), server.time.monotonic()) {
    listener_->metrics.open.add(1);
  }

  ~Connection() override {
    listener_->metrics.open.add(-1);
    listener_->open.fetch_sub(1);
    std::lock_guard lk(listener_->mu);
    listener_->connections.erase(this);
  }

  // over_cap: answer 503 and close without reading a request.
  void start(bool over_cap) {
    {
      std::lock_guard lk(listener_->mu);
      listener_->connections.emplace(this, this->shared_from_this());
    }
    boost::system::error_code ignored;
    lowest().set_option(tcp::no_delay(true), ignored);
    lowest().non_blocking(true, ignored);  // when_readable's reads
    const auto remote = lowest().remote_endpoint(ignored);
    if (!ignored) peer_ = remote.address().to_string();
    if (over_cap) {
      listener_->metrics.refused.inc();
      refuse_over_cap();
      return;
    }
    arm_timer();
    if constexpr (kTls<Stream>) {
      handshaking_ = true;  // under the head deadline (the session's, from the accept)
      stream_.async_handshake(ssl::stream_base::server,
                              [self = this->shared_from_this()](boost::system::error_code ec) {
                                self->handshaking_ = false;
                                if (ec || self->closed_) return self->close();
                                self->pump();
                              });
    } else {
      pump();
    }
  }

  void shut() override {
    asio::post(stream_.get_executor(), [self = this->shared_from_this()] { self->close(); });
  }

 private:
  MonoTime now() const { return server_.time.monotonic(); }
  tcp::socket& lowest() { return boost::beast::get_lowest_layer(stream_); }

  void refuse_over_cap() {
    // Plain text over TLS would not be understood (and a handshake is what an overload should not
    // pay for): a TLS client just sees the connection close.
    if constexpr (kTls<Stream>) return close();
    const auto t = now().time_since_epoch();
    auto last = listener_->last_refusal_log.load();
    if (MonoClock::duration(t.count() - last) >= kAcceptLogEvery &&
        listener_->last_refusal_log.compare_exchange_strong(last, t.count())) {
      spdlog::warn("{}: {} connections open, refusing more (503 too_many_connections)", listener_->spec.config_key,
                   listener_->spec.max_connections);
    }
    session_.output() = refusal_bytes(503, "too_many_connections", "too many open connections; try again shortly");
    final_ = true;
    arm_timer();
    write();
  }

  // Parses and answers what was received, then writes, reads or closes.
  void pump() {
    if (closed_) return;
    auto next = HttpSession::Next::read;
    while (!busy_) {
      next = session_.advance(now());
      if (next != HttpSession::Next::request) break;
      dispatch();
    }
    if (next == HttpSession::Next::close && session_.refused() != 0 && !counted_refusal_) {
      counted_refusal_ = true;
      listener_->metrics.malformed(session_.refused());
      spdlog::debug("http: malformed request on {} -> {}", listener_->spec.config_key, session_.refused());
    }
    if (writing_ || reading_) return;
    if (!session_.output().empty()) return write();
    if (busy_) return;  // no deadline while the pool answers
    if (next == HttpSession::Next::close) return close();
    read();
  }

  void dispatch() {
    auto& req = session_.request();
    req.peer = peer_;
    const auto kind = listener_->spec.kind;
    std::optional<HttpResponse> fast;
    try {
      fast = server_.handler.answer_now(req, kind);
    } catch (const std::exception& e) {
      fast = internal_error(req, e.what());
    }
    if (fast) return session_.respond(*fast, now());
    busy_ = true;
    asio::post(server_.pool, [self = this->shared_from_this(), kind] {
      auto& r = self->session_.request();
      HttpResponse a;
      try {
        a = self->server_.handler.answer(r, kind);
      } catch (const std::exception& e) {
        a = internal_error(r, e.what());
      }
      asio::post(self->stream_.get_executor(), [self, a = std::move(a)] {
        self->busy_ = false;
        if (self->closed_) return;
        self->session_.respond(a, self->now());
        self->pump();
      });
    });
  }

  // RequestHandler promises not to throw; should one, the client still gets an answer.
  static HttpResponse internal_error(const HttpRequest& req, const char* what) {
    spdlog::error("http {} {}: the handler threw: {}", req.method, req.path, what);
    HttpResponse r;
    r.error(500, "internal_error", "internal error; see the daemon's log");
    return r;
  }

  void read() {
    reading_ = true;
    rearm_if_sooner();
    const auto got = [self = this->shared_from_this()](boost::system::error_code ec, std::string_view bytes) {
      self->reading_ = false;
      if (ec || self->closed_) return self->close();
      self->session_.received(bytes, self->now());
      self->pump();
    };
    if constexpr (kTls<Stream>) {
      // TLS reads need a buffer of the connection's own until they complete.
      if (!tls_buf_) tls_buf_ = std::make_unique<std::array<char, kReadBuffer>>();
      stream_.async_read_some(asio::buffer(*tls_buf_),
                              [self = this->shared_from_this(), got](boost::system::error_code ec, std::size_t n) {
                                got(ec, {self->tls_buf_->data(), n});
                              });
    } else {
      when_readable(got);
    }
  }

  // Waits until the socket has bytes (or EOF), then reads them into the thread's buffer: a kept-alive
  // connection holds no read buffer while it waits (10,000 idle connections, not 10,000 buffers).
  template <class Got>
  void when_readable(Got got) {
    lowest().async_wait(tcp::socket::wait_read, [self = this->shared_from_this(), got](boost::system::error_code ec) {
      if (ec) return got(ec, {});
      thread_local std::array<char, kReadBuffer> buf;
      boost::system::error_code rec;
      const auto n = self->lowest().read_some(asio::buffer(buf), rec);  // the socket is non-blocking
      if (rec == asio::error::would_block || rec == asio::error::try_again) return self->when_readable(got);
      got(rec, {buf.data(), n});
    });
  }

  void write() {
    writing_ = true;
    sending_.swap(session_.output());
    session_.output().clear();
    write_deadline_ = now() + server_.limits.write_timeout;
    rearm_if_sooner();
    asio::async_write(stream_, asio::buffer(sending_),
                      [self = this->shared_from_this()](boost::system::error_code ec, std::size_t) {
                        self->writing_ = false;
                        self->sending_.clear();
                        if (ec || self->closed_) return self->close();
                        self->session_.sent(self->now());
                        if (self->final_) return self->linger();
                        if (self->session_.closing() && self->session_.output().empty()) return self->linger();
                        self->pump();
                      });
  }

  // The final answer is out: half-close, then read and drop what the client still sends until it
  // closes too or kLinger passes, so that the kernel does not reset the connection under the answer.
  void linger() {
    if (closed_) return;
    lingering_ = true;
    linger_deadline_ = now() + kLinger;
    rearm_if_sooner();
    boost::system::error_code ignored;
    lowest().shutdown(tcp::socket::shutdown_send, ignored);
    drain();
  }

  void drain() {
    when_readable([self = this->shared_from_this()](boost::system::error_code ec, std::string_view) {
      if (ec || self->closed_) return self->close();
      self->drain();
    });
  }

  // What closes the connection now: the write deadline while writing, the linger time once the
  // final answer is out, the session's deadline otherwise (none while the pool answers).
  MonoTime deadline() const {
    if (lingering_) return linger_deadline_;
    if (writing_) return write_deadline_;
    if (busy_) return MonoTime::max();
    return session_.deadline();
  }

  // Deadlines are on the server's TimeSource; the Asio timer only waits until the TimeSource should
  // have reached one and then asks again (re-arming for what is left, if anything).
  void arm_timer() {
    const auto d = deadline();
    const auto t = now();
    const auto wait = d == MonoTime::max() ? MonoClock::duration(server_.limits.idle_timeout)
                                           : std::max(d - t, MonoClock::duration::zero());
    armed_for_ = t + wait;
    timer_.expires_after(wait);
    timer_.async_wait([self = this->shared_from_this()](boost::system::error_code ec) {
      if (ec || self->closed_) return;
      const auto current = self->deadline();
      if (current != MonoTime::max() && self->now() >= current) return self->expire();
      self->arm_timer();
    });
  }

  // The timer checks again when it fires, so a later deadline needs nothing; a sooner one (the write,
  // linger or idle time after a long head) re-arms it. Most reads and writes leave the timer alone.
  void rearm_if_sooner() {
    if (deadline() < armed_for_) arm_timer();
  }

  void expire() {
    if (!lingering_) {
      const std::string_view phase = writing_ ? "write" : handshaking_ ? "head" : phase_name(session_.phase());
      listener_->metrics.cut(phase);
      spdlog::debug("http: {} deadline passed on {}, closing", phase, listener_->spec.config_key);
    }
    close();
  }

  void close() {
    if (closed_) return;
    closed_ = true;
    boost::system::error_code ignored;
    lowest().shutdown(tcp::socket::shutdown_both, ignored);
    lowest().close(ignored);
    timer_.cancel();
  }

  ServerContext& server_;
  std::shared_ptr<ListenerState> listener_;
  Stream stream_;
  asio::steady_timer timer_;
  HttpSession session_;
  std::unique_ptr<std::array<char, kReadBuffer>> tls_buf_;
  std::string sending_;
  std::string peer_;  // the remote address, for HttpRequest::peer (rate limits, the audit trail)
  MonoTime write_deadline_{}, linger_deadline_{}, armed_for_ = MonoTime::max();
  bool reading_ = false, writing_ = false, busy_ = false, closed_ = false;
  bool handshaking_ = false, lingering_ = false, final_ = false, counted_refusal_ = false;
};

}  // namespace

void HttpServer::Impl::accept(Listener& l) {
  l.acceptor.async_accept(asio::make_strand(io), [this, &l](boost::system::error_code ec, tcp::socket socket) {
    if (ec == asio::error::operation_aborted || !l.acceptor.is_open()) return;
    if (ec) {
      // Out of file descriptors and the like: try again shortly rather than spin, and say so at
      // most once a second.
      const auto t = ctx.time.monotonic();
      if (l.last_accept_log == MonoTime{} || t - l.last_accept_log >= kAcceptLogEvery) {
        l.last_accept_log = t;
        spdlog::warn("{}: accept failed: {}; retrying", l.state->spec.config_key, ec.message());
      }
      l.retry.expires_after(kAcceptRetry);
      l.retry.async_wait([this, &l](boost::system::error_code e) {
        if (!e && l.acceptor.is_open()) accept(l);
      });
      return;
    }
    accepted(l, std::move(socket));
    accept(l);
  });
}

void HttpServer::Impl::accepted(Listener& l, tcp::socket socket) {
  const bool over = l.state->open.fetch_add(1) >= l.state->spec.max_connections;
  if (l.tls) {
    std::make_shared<Connection<ssl::stream<tcp::socket>>>(ctx, l.state, std::move(socket), *l.tls)->start(over);
  } else {
    std::make_shared<Connection<tcp::socket>>(ctx, l.state, std::move(socket))->start(over);
  }
}

HttpServer::HttpServer(RequestHandler& handler, const ServerLimits& limits, const TimeSource& time,
                       metrics::Registry& metrics)
    : impl_(std::make_unique<Impl>(handler, limits, time, metrics)) {}

HttpServer::~HttpServer() { stop(); }

int HttpServer::add_listener(const ListenerSpec& spec) {
  const auto where = spec.address + " (" + spec.config_key + ")";
  const auto address = util::parse_host_port(spec.address);
  if (!address || !address->port)
    throw std::runtime_error(spec.config_key + " '" + spec.address + "' is not host:port");
  auto l = std::make_unique<Impl::Listener>(impl_->io, std::make_shared<ListenerState>(spec, impl_->registry));
  if (!spec.tls_cert_file.empty() || !spec.tls_key_file.empty()) {
    try {
      l->tls.emplace(ssl::context::tls_server);
      l->tls->set_options(ssl::context::default_workarounds | ssl::context::no_sslv2 | ssl::context::no_sslv3 |
                          ssl::context::no_tlsv1 | ssl::context::no_tlsv1_1 | ssl::context::single_dh_use);
      l->tls->use_certificate_chain_file(spec.tls_cert_file);
      l->tls->use_private_key_file(spec.tls_key_file, ssl::context::pem);
    } catch (const boost::system::system_error& e) {
      throw std::runtime_error(spec.config_key + " TLS: cannot load the certificate " + spec.tls_cert_file +
                               " and key " + spec.tls_key_file +
                               " (missing, unreadable or not matching): " + e.code().message());
    }
  }
  try {
    tcp::resolver resolver(impl_->io);
    const auto results = resolver.resolve(address->host, std::to_string(*address->port),
                                          tcp::resolver::numeric_service | tcp::resolver::passive);
    const tcp::endpoint ep = *results.begin();
    l->acceptor.open(ep.protocol());
    l->acceptor.set_option(tcp::acceptor::reuse_address(true));  // SO_REUSEADDR only: a busy port is an error
    l->acceptor.bind(ep);
    l->acceptor.listen(asio::socket_base::max_listen_connections);  // SOMAXCONN
    l->port = l->acceptor.local_endpoint().port();
  } catch (const boost::system::system_error& e) {
    throw std::runtime_error("cannot listen on " + where + ": " + e.code().message());
  }
  impl_->listeners.push_back(std::move(l));
  return static_cast<int>(impl_->listeners.size()) - 1;
}

int HttpServer::port(int index) const { return impl_->listeners.at(static_cast<std::size_t>(index))->port; }

void HttpServer::start() {
  std::lock_guard lk(impl_->stop_mu);
  if (impl_->started || impl_->stopped) return;
  impl_->started = true;
  impl_->work.emplace(impl_->io.get_executor());
  for (auto& l : impl_->listeners) impl_->accept(*l);
  for (int i = 0; i < std::max(1, impl_->ctx.limits.event_threads); ++i) {
    impl_->threads.emplace_back([impl = impl_.get()] {
      try {
        impl->io.run();
      } catch (const std::exception& e) {
        spdlog::error("http server: event loop failed: {}", e.what());
      }
    });
  }
}

void HttpServer::stop() {
  std::lock_guard lk(impl_->stop_mu);
  if (impl_->stopped) return;
  impl_->stopped = true;
  auto& impl = *impl_;
  if (!impl.started) {
    boost::system::error_code ignored;
    for (auto& l : impl.listeners) l->acceptor.close(ignored);
    impl.ctx.pool.join();
    return;
  }
  for (auto& l : impl.listeners) {
    asio::post(l->strand, [&l = *l] {
      boost::system::error_code ignored;
      l.acceptor.close(ignored);
      l.retry.cancel();
    });
  }
  for (auto& l : impl.listeners) {
    std::vector<std::shared_ptr<ConnectionBase>> open;
    {
      std::lock_guard cl(l->state->mu);
      for (auto& [raw, weak] : l->state->connections) {
        if (auto c = weak.lock()) open.push_back(std::move(c));
      }
    }
    for (auto& c : open) c->shut();
  }
  // Answers in progress end (their connections are closed: they are dropped) before the loops stop.
  impl.ctx.pool.join();
  impl.work.reset();
  impl.io.stop();
  for (auto& t : impl.threads) t.join();
  impl.threads.clear();
}

}  // namespace mediax
