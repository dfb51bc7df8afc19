// One outbound connection: a TCP socket, under TLS for https. What a call writes its request to
// and reads the answer from, and what the idle pool (idle_connections.hpp) keeps between calls.
#pragma once

#include <optional>
#include <string>
#include <utility>

#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/ssl/context.hpp>
#include <boost/asio/ssl/stream.hpp>

namespace mediax::net {

class Connection {
 public:
  using Socket = boost::asio::ip::tcp::socket;
  using TlsStream = boost::asio::ssl::stream<Socket>;

  // Plain TCP (http://).
  explicit Connection(boost::asio::io_context& io);
  // TLS (https://) to `host`, the URL's host even when the socket goes to a pinned address: it is
  // sent as SNI (unless it is an IP literal, which SNI does not carry) and, with `verify`, the
  // certificate must name it.
  Connection(boost::asio::io_context& io, boost::asio::ssl::context& tls, const std::string& host, bool verify);
  Connection(const Connection&) = delete;
  Connection& operator=(const Connection&) = delete;

  Socket& socket() { return tls_ ? tls_->next_layer() : *plain_; }
  TlsStream* tls() { return tls_ ? &*tls_ : nullptr; }

  template <class Buffers, class Handler>
  void async_write_some(const Buffers& buffers, Handler&& handler) {
    if (tls_) {
      tls_->async_write_some(buffers, std::forward<Handler>(handler));
    } else {
      plain_->async_write_some(buffers, std::forward<Handler>(handler));
    }
  }
  template <class Buffers, class Handler>
  void async_read_some(const Buffers& buffers, Handler&& handler) {
    if (tls_) {
      tls_->async_read_some(buffers, std::forward<Handler>(handler));
    } else {
      plain_->async_read_some(buffers, std::forward<Handler>(handler));
    }
  }

  // For a kept connection about to carry a new request: nothing is waiting to be read. Readable
  // means the server closed it (idle timeout) or sent bytes nobody asked for; either way the
  // request must go on another connection. Does not block.
  bool fit_for_reuse();
  // Closes the socket: what is pending on it ends with operation_aborted. The object stays valid
  // (a pending TLS operation still refers to the stream) until that has completed.
  void close();

 private:
  std::optional<TlsStream> tls_;
  std::optional<Socket> plain_;
};

}  // namespace mediax::net
