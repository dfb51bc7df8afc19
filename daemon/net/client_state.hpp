// What the calls of one AsyncHttpClient share: its options and TLS settings, the threads that ask
// the outbound guard (its name lookup blocks, and must not hold up an io_context that drives other
// calls), the calls in flight (cancelled when the client goes) and its idle connections on each
// io_context. The client and every call it started hold it, so a call still running when the
// client is destroyed finds it whole.
#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include <boost/asio/io_context.hpp>
#include <boost/asio/ssl/context.hpp>
#include <boost/asio/thread_pool.hpp>

#include "net/http_client.hpp"
#include "net/idle_connections.hpp"
#include "net/outbound_guard.hpp"
#include "util/time_source.hpp"

namespace mediax::net {

class HttpCall;

class ClientState {
 public:
  explicit ClientState(HttpClientOptions opts);
  ~ClientState();
  ClientState(const ClientState&) = delete;
  ClientState& operator=(const ClientState&) = delete;

  const HttpClientOptions& opts() const { return opts_; }
  const TimeSource& time() const { return opts_.time != nullptr ? *opts_.time : real_time(); }
  // Null when TLS could not be set up (ca_file unreadable, no system trust store): an https call
  // then fails with "tls", as it would have at its handshake.
  boost::asio::ssl::context* tls() { return tls_ready_ ? &tls_ : nullptr; }

  // This client's idle connections on `io`; null when keep-alive is off.
  std::shared_ptr<IdleConnections> idle_on(boost::asio::io_context& io);

  // Runs opts().outbound->check(scheme, host) on a lookup thread, then `then` there with its
  // result. False once the client is shut down (nothing runs).
  bool check_outbound(const std::string& scheme, const std::string& host,
                      std::function<void(OutboundGuard::Check)> then);

  // A call in flight, cancelled by shutdown(); false (not added) once shut down.
  bool add_call(std::uint64_t id, const std::shared_ptr<HttpCall>& call);
  void remove_call(std::uint64_t id);
  std::uint64_t next_call_id();

  // The client is going: cancels the calls in flight (each ends "canceled" on its io_context),
  // waits for the guard checks under way (the guard may go with the client), closes the idle
  // connections. Afterwards nothing reads the guard, and only calls not yet cancelled the clock.
  void shutdown();

 private:
  const HttpClientOptions opts_;
  const std::uint64_t id_;  // for idle_connections_on
  boost::asio::ssl::context tls_;
  bool tls_ready_ = false;

  std::mutex mu_;
  bool shut_down_ = false;
  std::uint64_t next_call_ = 0;
  std::map<std::uint64_t, std::weak_ptr<HttpCall>> calls_;
  std::unique_ptr<boost::asio::thread_pool> lookups_;  // started with the first guarded connection
  std::vector<std::weak_ptr<IdleConnections>> pools_;
};

}  // namespace mediax::net
