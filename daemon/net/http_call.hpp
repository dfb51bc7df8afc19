// One request and its answer, driven by completion handlers on a strand of the caller's
// io_context: a connection (a kept one, or a new one: resolved, or checked and pinned by the
// outbound guard; connected; the TLS handshake), the request written, the answer read and parsed
// (Beast's parser), under the connect, per-read and whole-call limits. Its pending handlers keep it
// alive. It ends once (finish): `done` runs, and what it still has pending completes with
// operation_aborted and finds it ended.
#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include <boost/asio/bind_executor.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/strand.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/http/parser.hpp>
#include <boost/beast/http/string_body.hpp>

#include "net/client_state.hpp"
#include "net/connection.hpp"
#include "net/http_client.hpp"
#include "net/idle_connections.hpp"
#include "util/time_source.hpp"
#include "util/url.hpp"

namespace mediax::net {

class HttpCall : public std::enable_shared_from_this<HttpCall> {
 public:
  // Starts a call on `io`; `done` runs once, on a thread running io, never before start returns.
  static void start(const std::shared_ptr<ClientState>& state, boost::asio::io_context& io, HttpClientRequest req,
                    std::function<void(HttpClientResponse)> done);

  HttpCall(std::shared_ptr<ClientState> state, boost::asio::io_context& io, HttpClientRequest req,
           std::function<void(HttpClientResponse)> done);
  // Thread-safe: ends the call with "canceled" unless it has ended.
  void cancel();

 private:
  // What a connect/handshake/write/read limit cuts, and so what its expiry is called.
  enum class Step { connect, handshake, write, read };

  void begin();
  void open();
  void on_checked(std::uint64_t attempt, const OutboundGuard::Check& check);
  void connect(std::vector<boost::asio::ip::tcp::endpoint> endpoints);
  void on_connected(std::uint64_t attempt, const boost::system::error_code& ec);
  void handshake();
  void write_request();
  void write_some();
  void on_written(std::uint64_t attempt, const boost::system::error_code& ec, std::size_t n);
  void write_failed();
  void read_some();
  void on_read(std::uint64_t attempt, const boost::system::error_code& ec, std::size_t n);
  bool parse();
  void complete(bool server_closed);

  void arm(std::chrono::milliseconds limit, Step step);
  void disarm();
  void wait_for_deadline();
  void fail(const std::string& error, std::string detail = {});
  void finish(HttpClientResponse out);
  // A handler of an earlier connection (one given up for a retry) or of an ended call.
  bool stale(std::uint64_t attempt) const { return finished_ || attempt != attempt_; }

  template <class F>
  auto on_strand(F&& f) {
    return boost::asio::bind_executor(strand_, std::forward<F>(f));
  }

  const std::shared_ptr<ClientState> state_;
  boost::asio::io_context& io_;
  boost::asio::strand<boost::asio::io_context::executor_type> strand_;
  const HttpClientRequest req_;
  std::function<void(HttpClientResponse)> done_;
  std::uint64_t id_ = 0;
  bool finished_ = false;

  ParsedUrl url_;
  std::string origin_;
  std::string request_;  // the bytes to send (request_text.hpp)
  std::shared_ptr<IdleConnections> idle_;

  std::unique_ptr<Connection> conn_;
  // Connections given up (closed) while an operation may still be pending on them.
  std::vector<std::unique_ptr<Connection>> retired_;
  std::uint64_t attempt_ = 0;  // bumped for each connection: older handlers are stale
  bool reused_ = false;        // conn_ came from the idle ones
  bool retried_ = false;

  boost::asio::ip::tcp::resolver resolver_;
  boost::asio::steady_timer step_timer_;  // connect, handshake, each write and read
  std::uint64_t step_armed_ = 0;          // bumped for each arm: a timer that fired late is stale
  Step step_ = Step::connect;
  boost::asio::steady_timer deadline_timer_;  // total_timeout
  MonoTime deadline_{};

  std::size_t written_ = 0;
  boost::beast::flat_buffer read_buffer_;
  std::optional<boost::beast::http::response_parser<boost::beast::http::string_body>> parser_;
};

}  // namespace mediax::net
