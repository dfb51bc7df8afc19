// mediaxd's HTTP edge on Boost.Beast + Asio: any number of listeners (admin.listen, optionally
// with TLS, and admin.token_listen) served by a few event-loop threads; requests whose answer may
// block run on a bounded handler pool, never on the event loop (RequestHandler::answer_now first).
// HTTP/1.0 and 1.1, keep-alive, pipelining, Expect: 100-continue, chunked request bodies, HEAD;
// 400/413/414/431 for what is malformed or too large; deadlines for a request's head and body, an
// idle timeout between requests, a cap on open connections per listener (503 beyond it).
#pragma once

#include <chrono>
#include <cstddef>
#include <memory>
#include <string>

#include "http/request_handler.hpp"
#include "obs/metrics.hpp"
#include "util/time_source.hpp"

namespace mediax {

struct ListenerSpec {
  std::string config_key;  // "admin.listen": names the listener in errors and logs
  std::string address;     // host:port; port 0 = any free port
  ListenerKind kind = ListenerKind::admin;
  std::string tls_cert_file;  // both set: HTTPS (PEM certificate chain and key)
  std::string tls_key_file;
  std::size_t max_body_bytes = 1 << 20;  // 413 above (Content-Length or de-chunked)
  std::size_t max_connections = 16384;   // open connections; beyond it 503 and close
};

struct ServerLimits {
  std::chrono::milliseconds header_timeout{10'000};  // the whole request head, from its first byte or the connection
  std::chrono::milliseconds body_timeout{30'000};    // the whole body, after the head
  std::chrono::milliseconds idle_timeout{5'000};     // kept-alive with no request
  std::chrono::milliseconds write_timeout{10'000};   // a client that does not read its answer
  std::size_t max_head_bytes = 8192;                 // request line and headers; 431 (414 for the target) above
  int event_threads = 2;                             // event loops shared by every listener
  int handler_threads = 16;                          // the pool that runs RequestHandler::answer
};

class HttpServer {
 public:
  HttpServer(RequestHandler& handler, const ServerLimits& limits, const TimeSource& time, metrics::Registry& metrics);
  ~HttpServer();
  HttpServer(const HttpServer&) = delete;
  HttpServer& operator=(const HttpServer&) = delete;

  // Binds a listener (and loads its TLS certificate); throws std::runtime_error naming
  // spec.config_key and the address when that fails. Returns its index. Before start().
  int add_listener(const ListenerSpec& spec);
  // The bound port of listener `index` (the actual one when the spec said 0).
  int port(int index) const;
  // Starts the event loops and the handler pool; returns at once.
  void start();
  // Closes the listeners and every connection, lets answers in progress end, joins the threads.
  // Idempotent; may be called before start().
  void stop();

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace mediax
