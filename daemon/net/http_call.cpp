#include "net/http_call.hpp"

#include <algorithm>
#include <utility>

#include <boost/asio/connect.hpp>
#include <boost/asio/error.hpp>
#include <boost/asio/ip/address.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/ssl/error.hpp>
#include <boost/beast/http/error.hpp>

#include "net/request_text.hpp"
#include "util/waits.hpp"

namespace mediax::net {

namespace {

// Token endpoints answer with a few hundred bytes; anything this large is not a token response.
constexpr std::size_t kMaxResponseBytes = 4 * 1024 * 1024;
// Beast's default (8 KiB) is below what some platforms' headers (policies, cookies) add up to.
constexpr std::uint32_t kMaxHeaderBytes = 64 * 1024;
constexpr std::size_t kReadChunk = 16 * 1024;

using boost::system::error_code;
using tcp = boost::asio::ip::tcp;
namespace http = boost::beast::http;

bool known_method(const std::string& m) { return m == "GET" || m == "POST" || m == "PUT" || m == "DELETE"; }

}  // namespace

void HttpCall::start(const std::shared_ptr<ClientState>& state, boost::asio::io_context& io, HttpClientRequest req,
                     std::function<void(HttpClientResponse)> done) {
  auto call = std::make_shared<HttpCall>(state, io, std::move(req), std::move(done));
  call->id_ = state->next_call_id();
  if (!state->add_call(call->id_, call)) {
    boost::asio::post(call->strand_, [call] { call->fail("canceled"); });
    return;
  }
  boost::asio::post(call->strand_, [call] { call->begin(); });
}

HttpCall::HttpCall(std::shared_ptr<ClientState> state, boost::asio::io_context& io, HttpClientRequest req,
                   std::function<void(HttpClientResponse)> done)
    : state_(std::move(state)),
      io_(io),
      strand_(boost::asio::make_strand(io)),
      req_(std::move(req)),
      done_(std::move(done)),
      resolver_(io),
      step_timer_(io),
      deadline_timer_(io) {}

void HttpCall::cancel() {
  boost::asio::post(strand_, [self = shared_from_this()] { self->fail("canceled"); });
}

void HttpCall::begin() {
  if (finished_) return;
  auto url = parse_url(req_.url);
  if (!url) return fail("bad_url");
  if (!known_method(req_.method)) return fail("bad_method");
  url_ = std::move(*url);
  origin_ = url_.scheme + "://" + host_header(url_);
  idle_ = state_->idle_on(io_);
  request_ = request_text(req_, url_, state_->opts().user_agent, /*close=*/idle_ == nullptr);
  if (state_->opts().total_timeout.count() > 0) {
    deadline_ = state_->time().monotonic() + state_->opts().total_timeout;
    wait_for_deadline();
    if (finished_) return;
  }
  if (idle_) conn_ = idle_->take(origin_);
  if (conn_) {
    reused_ = true;
    write_request();
  } else {
    open();
  }
}

// A new connection: to the address the outbound guard checked (the name is not looked up again),
// or to what the name resolves to when there is no guard.
void HttpCall::open() {
  reused_ = false;
  const auto attempt = ++attempt_;
  if (state_->opts().outbound != nullptr) {
    const bool asked = state_->check_outbound(
        url_.scheme, url_.host, [self = shared_from_this(), attempt](OutboundGuard::Check check) mutable {
          auto call = std::move(self);  // released on the call's strand, not on the lookup thread
          boost::asio::post(call->strand_,
                            [call, attempt, check = std::move(check)] { call->on_checked(attempt, check); });
        });
    if (!asked) fail("canceled");
    return;
  }
  resolver_.async_resolve(
      url_.host, std::to_string(url_.port), tcp::resolver::numeric_service,
      on_strand([self = shared_from_this(), attempt](const error_code& ec, const tcp::resolver::results_type& found) {
        if (self->stale(attempt)) return;
        if (ec) return self->fail("connection");  // the name does not resolve
        std::vector<tcp::endpoint> endpoints;
        for (const auto& entry : found) endpoints.push_back(entry.endpoint());
        self->connect(std::move(endpoints));
      }));
}

void HttpCall::on_checked(std::uint64_t attempt, const OutboundGuard::Check& check) {
  if (stale(attempt)) return;
  switch (check.verdict) {
    case OutboundGuard::Verdict::unresolved: return fail("connection", check.message);
    case OutboundGuard::Verdict::refused: return fail(kAddressNotAllowed, check.message);
    case OutboundGuard::Verdict::allowed: break;
  }
  error_code ec;
  const auto address = boost::asio::ip::make_address(util::to_string(check.connect_to), ec);
  if (ec) return fail("connection", "the outbound guard's address does not parse");
  connect({tcp::endpoint(address, static_cast<unsigned short>(url_.port))});
}

void HttpCall::connect(std::vector<tcp::endpoint> endpoints) {
  auto* tls = url_.scheme == "https" ? state_->tls() : nullptr;
  if (url_.scheme == "https" && tls == nullptr) return fail("tls");  // no trust store to verify with
  conn_ = tls != nullptr ? std::make_unique<Connection>(io_, *tls, url_.host, state_->opts().verify_tls)
                         : std::make_unique<Connection>(io_);
  arm(state_->opts().connect_timeout, Step::connect);
  boost::asio::async_connect(
      conn_->socket(), endpoints,
      on_strand([self = shared_from_this(), attempt = attempt_](const error_code& ec, const tcp::endpoint&) {
        self->on_connected(attempt, ec);
      }));
}

void HttpCall::on_connected(std::uint64_t attempt, const error_code& ec) {
  if (stale(attempt)) return;
  disarm();
  if (ec) return fail("connection");
  // The request goes out in one write, but Nagle's algorithm could still hold its tail (a body
  // past the first segment) for the ACK of what went before, which the server delays: up to 40 ms
  // more for a POST on a kept-alive connection.
  error_code ignored;
  conn_->socket().set_option(tcp::no_delay(true), ignored);
  if (conn_->tls() != nullptr) {
    handshake();
  } else {
    write_request();
  }
}

void HttpCall::handshake() {
  arm(state_->opts().connect_timeout, Step::handshake);
  conn_->tls()->async_handshake(boost::asio::ssl::stream_base::client,
                                on_strand([self = shared_from_this(), attempt = attempt_](const error_code& ec) {
                                  if (self->stale(attempt)) return;
                                  self->disarm();
                                  if (ec) return self->fail("tls");  // incl. a certificate not for this host
                                  self->write_request();
                                }));
}

void HttpCall::write_request() {
  written_ = 0;
  write_some();
}

void HttpCall::write_some() {
  arm(state_->opts().read_timeout, Step::write);
  conn_->async_write_some(boost::asio::buffer(request_.data() + written_, request_.size() - written_),
                          on_strand([self = shared_from_this(), attempt = attempt_](
                                        const error_code& ec, std::size_t n) { self->on_written(attempt, ec, n); }));
}

void HttpCall::on_written(std::uint64_t attempt, const error_code& ec, std::size_t n) {
  if (stale(attempt)) return;
  if (ec) return write_failed();
  written_ += n;
  if (written_ < request_.size()) return write_some();
  disarm();
  parser_.emplace();
  parser_->body_limit(kMaxResponseBytes);
  parser_->header_limit(kMaxHeaderBytes);
  read_buffer_.clear();
  read_some();
}

// A kept connection the server closed as the request went out: the request never reached it
// whole, so it goes once more on a new connection. (Not after a read error: the server may have
// acted on the request, and a refresh token must not be sent twice.)
void HttpCall::write_failed() {
  if (reused_ && !retried_) {
    retried_ = true;
    disarm();
    conn_->close();
    retired_.push_back(std::move(conn_));
    return open();
  }
  fail("write");
}

void HttpCall::read_some() {
  arm(state_->opts().read_timeout, Step::read);  // a limit on silence, renewed by every byte
  conn_->async_read_some(read_buffer_.prepare(kReadChunk),
                         on_strand([self = shared_from_this(), attempt = attempt_](
                                       const error_code& ec, std::size_t n) { self->on_read(attempt, ec, n); }));
}

void HttpCall::on_read(std::uint64_t attempt, const error_code& ec, std::size_t n) {
  if (stale(attempt)) return;
  read_buffer_.commit(n);
  if (!parse()) return;
  if (parser_->is_done()) return complete(false);
  if (ec) {
    // An answer whose end is the end of the connection (no length, not chunked). A TLS peer that
    // closes without close_notify is taken at its word, as cpp-httplib did.
    if (ec == boost::asio::error::eof || ec == boost::asio::ssl::error::stream_truncated) {
      error_code end;
      parser_->put_eof(end);
      if (!end && parser_->is_done()) return complete(true);
    }
    return fail("read");
  }
  read_some();
}

// Feeds what has been read to the parser; false when the call ended on it.
bool HttpCall::parse() {
  while (read_buffer_.size() > 0 && !parser_->is_done()) {
    error_code ec;
    const auto used = parser_->put(read_buffer_.data(), ec);
    read_buffer_.consume(used);
    if (ec == http::error::need_more) break;  // keeps the partial header for the next read
    if (ec == http::error::body_limit || ec == http::error::header_limit) {
      fail("too_large");
      return false;
    }
    if (ec) {
      fail("read");
      return false;
    }
    if (used == 0) break;
  }
  return true;
}

void HttpCall::complete(bool server_closed) {
  disarm();
  auto& message = parser_->get();
  HttpClientResponse out;
  out.status = static_cast<int>(message.result_int());
  for (const auto& field : message)
    out.headers.emplace_back(std::string(field.name_string()), std::string(field.value()));
  out.body = std::move(message.body());
  // Kept for the next call unless the server said "Connection: close" (or answered HTTP/1.0, or
  // ended the answer by closing) or sent more than the answer.
  if (idle_ && !server_closed && parser_->keep_alive() && read_buffer_.size() == 0) {
    idle_->give(origin_, std::move(conn_));
  }
  finish(std::move(out));
}

void HttpCall::arm(std::chrono::milliseconds limit, Step step) {
  const auto armed = ++step_armed_;
  step_ = step;
  if (limit.count() <= 0) {
    step_timer_.cancel();
    return;
  }
  step_timer_.expires_after(limit);
  step_timer_.async_wait(on_strand([self = shared_from_this(), armed](const error_code& ec) {
    if (ec || self->finished_ || armed != self->step_armed_) return;
    switch (self->step_) {
      case Step::connect: return self->fail("timeout");
      case Step::handshake: return self->fail("tls");  // cpp-httplib's word for a handshake that stalls
      case Step::write: return self->write_failed();
      case Step::read: return self->fail("read");  // cpp-httplib reported read timeouts as "read"
    }
  }));
}

void HttpCall::disarm() {
  ++step_armed_;
  step_timer_.cancel();
}

// The whole-call deadline is measured on the client's TimeSource. On the real clocks one timer
// waits for it; on another TimeSource (a test's manual clock) the timer looks at it every
// kWaitSlice, as util/waits.hpp does.
void HttpCall::wait_for_deadline() {
  const auto now = state_->time().monotonic();
  if (now >= deadline_) return fail("timeout");
  if (state_->opts().time == nullptr) {
    deadline_timer_.expires_at(deadline_);
  } else {
    deadline_timer_.expires_after(std::min<MonoClock::duration>(deadline_ - now, kWaitSlice));
  }
  deadline_timer_.async_wait(on_strand([self = shared_from_this()](const error_code& ec) {
    if (ec || self->finished_) return;
    self->wait_for_deadline();
  }));
}

void HttpCall::fail(const std::string& error, std::string detail) {
  HttpClientResponse out;
  out.error = error;
  out.error_detail = std::move(detail);
  finish(std::move(out));
}

// Runs once, on the strand. What is still pending (a read, a timer, a name lookup) completes with
// operation_aborted later and finds finished_.
void HttpCall::finish(HttpClientResponse out) {
  if (finished_) return;
  finished_ = true;
  disarm();
  deadline_timer_.cancel();
  resolver_.cancel();
  if (conn_) conn_->close();  // not returned to the idle ones: its state is unknown
  state_->remove_call(id_);
  auto done = std::move(done_);
  done_ = nullptr;
  if (done) done(std::move(out));
}

}  // namespace mediax::net
