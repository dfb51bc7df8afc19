// admin.token_listen: a second listener that serves token reads only (GET /v1/grants/{id}/token,
// GET /v1/apps/{name}/token, /healthz) with the same API keys and the same answers as the admin API,
// event-driven on Boost.Asio: a few threads serve any number of kept-alive connections, where the
// admin API (cpp-httplib) holds a thread per open connection. For apps that read tokens at a high
// rate (bench/RESULTS.md, token reads). Plain HTTP.
//
// A grant token in memory with a key already loaded is answered on the event loop; anything that
// may reach the database (an app token, a grant not in memory, an API key not in memory) runs on
// a small pool of its own, so a slow or dead database never stalls the loop.
#pragma once

#include <functional>
#include <memory>

#include "config/config.hpp"
#include "util/time_source.hpp"

namespace mediax {

class TokenReads;
class ApiKeyRegistry;

class TokenListener {
 public:
  // database_reachable: while it returns false, tokens go out marked stale, as on the admin API.
  // Idle and write timeouts of connections are measured on `time`.
  TokenListener(TokenReads& reads, ApiKeyRegistry& keys, const AdminConfig& config,
                std::function<bool()> database_reachable, const TimeSource& time);
  ~TokenListener();
  TokenListener(const TokenListener&) = delete;
  TokenListener& operator=(const TokenListener&) = delete;

  // Binds admin.token_listen; throws std::runtime_error naming it when that fails.
  void bind();
  int port() const;
  // Serves on admin.token_threads threads of its own until stop().
  void start();
  // Closes the listener and every connection; joins the threads. Idempotent.
  void stop();

  struct Impl;  // in the .cpp (its connections use it)

 private:
  std::unique_ptr<Impl> impl_;
};

}  // namespace mediax
