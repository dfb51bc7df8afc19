// Keep-alive: the connections whose last call succeeded, kept for the next call to the same origin
// (scheme://host[:port]). A socket is driven by the io_context it was made on, so each client has
// one IdleConnections per io_context its calls run on, found through a service of that io_context
// (idle_connections_on), which closes them when the io_context shuts down, even if the client
// outlives it.
#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include <boost/asio/io_context.hpp>

#include "net/connection.hpp"
#include "util/time_source.hpp"

namespace mediax::net {

// Per origin, newest last. Thread-safe: a call takes a connection for itself; the client's
// destructor and the io_context's shutdown close them from other threads.
class IdleConnections {
 public:
  IdleConnections(const TimeSource& time, std::chrono::seconds keep_alive, std::size_t max_per_origin);
  IdleConnections(const IdleConnections&) = delete;
  IdleConnections& operator=(const IdleConnections&) = delete;

  // The newest connection to `origin` that is still fit for a request; null when there is none.
  // Those idle longer than keep_alive are closed on the way, and so is one the server has closed.
  std::unique_ptr<Connection> take(const std::string& origin);
  // Keeps `c` (its call succeeded and the server did not ask to close); closes it instead when
  // max_per_origin are already kept, or after close_all.
  void give(const std::string& origin, std::unique_ptr<Connection> c);
  // Closes every kept connection and every one given later. Reads no clock: safe once the
  // client's TimeSource may be gone.
  void close_all();
  bool closed();

 private:
  struct Idle {
    std::unique_ptr<Connection> conn;
    MonoTime since;
  };
  const TimeSource& time_;
  const std::chrono::seconds keep_alive_;
  const std::size_t max_per_origin_;
  std::mutex mu_;
  bool closed_ = false;
  std::map<std::string, std::vector<Idle>> idle_;
};

// The IdleConnections of `client` on `io`: made by `make` the first time. `client` is a number no
// other client has had (an address could be reused by a client with other options).
std::shared_ptr<IdleConnections> idle_connections_on(boost::asio::io_context& io, std::uint64_t client,
                                                     const std::function<std::shared_ptr<IdleConnections>()>& make);

}  // namespace mediax::net
