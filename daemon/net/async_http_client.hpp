// The real HttpClient, asynchronous (Boost.Beast's HTTP/1.1 parser over Asio sockets, TLS through
// Asio's OpenSSL streams): a call runs on an io_context as completion handlers and holds no thread
// while it waits, so thousands of platform calls can wait on a few threads (the refresh fibers,
// each pinned to a single-threaded io_context, start their calls here). The blocking
// HttpClient::send stays for everything else (webhooks, mediaxctl, the admin API's handler
// threads).
#pragma once

#include <functional>
#include <memory>

#include <boost/asio/io_context.hpp>

#include "net/http_client.hpp"

namespace mediax {

class AsyncHttpClient : public HttpClient {
 public:
  // Starts one call on `io` (its sockets and timers live there; kept-alive connections are pooled per
  // io_context, so a call started on the same io_context may reuse them). `done` runs exactly once,
  // on a thread running `io`, never inside start() itself. Thread-safe to call from io's thread.
  virtual void start(boost::asio::io_context& io, HttpClientRequest req,
                     std::function<void(HttpClientResponse)> done) = 0;
  // HttpClient::send: on a fiber (fiber/fiber.hpp), runs the call on the fiber's carrier and parks
  // the fiber until it ends; elsewhere (blocking, from any thread that is not running an
  // io_context) runs it on the client's own io thread (started lazily, one thread) and waits.
};

// Destroying the client cancels its calls in flight: each still gets `done`, with error "canceled",
// when its io_context runs it. The OutboundGuard is not used after the destructor returns; the
// TimeSource (opts.time) must outlive the calls' io_contexts' handlers, or be null (real clocks).
std::unique_ptr<AsyncHttpClient> make_async_http_client(const HttpClientOptions& opts);

}  // namespace mediax
